using TorchSharp;

namespace PredGen.Training.Model;

/// <summary>
/// Scalars the forward passes use on every call, created once and rooted for the process's life. TorchSharp 0.107
/// leaves an implicitly converted Scalar (the alpha of every <c>tensor + tensor</c>, a <c>double</c> passed where a
/// Scalar is expected) to the finalizer, which can free it while the native op still reads it: under GC pressure that
/// showed as "Unknown scalar type" or Scalar.h asserts in RmsNorm, the position arithmetic and the residual adds. A
/// static Scalar is never finalized.
/// </summary>
internal static class Scalars
{
    /// <summary>Integral 1: the alpha of an add or sub, valid for integer and floating-point tensors alike.</summary>
    public static readonly Scalar One = 1L.ToScalar();

    public static readonly Scalar Zero = 0L.ToScalar();

    /// <summary>The alpha that makes an add a subtraction (TorchSharp's sub_(Tensor) passes an implicit one).</summary>
    public static readonly Scalar MinusOne = (-1L).ToScalar();
}
