using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>Root-mean-square layer norm, computed in fp32 and cast back (fp16/bf16 squares overflow or lose precision).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    private readonly Parameter weight;
    /// <summary>Created once and held by the module, not converted implicitly on every call (Scalars.cs).</summary>
    private readonly Scalar epsilon;

    public RmsNorm(long size, double eps, Device? device = null) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(size, device: device));
        epsilon = eps.ToScalar();
        RegisterComponents();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) epsilon.Dispose();
        base.Dispose(disposing);
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32);
        var variance = x.square().mean([-1L], keepdim: true);
        var normed = (x * rsqrt(variance.add(epsilon, Scalars.One))).to(input.dtype); // explicit alpha: Tensor + Scalar passes an implicit one
        return (weight * normed).MoveToOuterDisposeScope();
    }
}
