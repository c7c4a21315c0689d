using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "gate_proj")] private readonly AdaptableLinear gateProj;
    [TorchSharp.Utils.ComponentName(Name = "up_proj")] private readonly AdaptableLinear upProj;
    [TorchSharp.Utils.ComponentName(Name = "down_proj")] private readonly AdaptableLinear downProj;

    public LlamaMlp(LlamaConfig config, Device? device = null) : base(nameof(LlamaMlp))
    {
        ArgumentNullException.ThrowIfNull(config);
        gateProj = new AdaptableLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias, device);
        upProj = new AdaptableLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias, device);
        downProj = new AdaptableLinear(config.IntermediateSize, config.HiddenSize, config.MlpBias, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(gateProj.forward(input)).mul_(upProj.forward(input));
        return downProj.forward(gated).MoveToOuterDisposeScope();
    }
}
