using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>Root-mean-square layer norm, computed in fp32 and cast back (fp16/bf16 squares overflow or lose precision).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(long size, double eps, Device? device = null) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(size, device: device));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32);
        var variance = x.square().mean([-1L], keepdim: true);
        // An explicit Scalar held to the end of the call, not an implicit one the finalizer may free mid-op (Scalars.cs).
        using var epsilon = eps.ToScalar();
        var normed = (x * rsqrt(variance.add(epsilon, Scalars.One))).to(input.dtype); // Tensor + Scalar passes an implicit alpha too
        return (weight * normed).MoveToOuterDisposeScope();
    }
}
