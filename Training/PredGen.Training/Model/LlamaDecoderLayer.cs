using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>Pre-norm residual block: x + attn(norm(x)), then + mlp(norm(.)).</summary>
public sealed class LlamaDecoderLayer : nn.Module<LayerInput, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "self_attn")] private readonly LlamaAttention selfAttn;
    [TorchSharp.Utils.ComponentName(Name = "mlp")] private readonly LlamaMlp mlp;
    [TorchSharp.Utils.ComponentName(Name = "input_layernorm")] private readonly RmsNorm inputLayerNorm;
    [TorchSharp.Utils.ComponentName(Name = "post_attention_layernorm")] private readonly RmsNorm postAttentionLayerNorm;

    public LlamaDecoderLayer(LlamaConfig config, int layerIndex, Device? device = null) : base(nameof(LlamaDecoderLayer))
    {
        ArgumentNullException.ThrowIfNull(config);
        selfAttn = new LlamaAttention(config, layerIndex, device);
        mlp = new LlamaMlp(config, device);
        inputLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        postAttentionLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        RegisterComponents();
    }

    public override Tensor forward(LayerInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        var hidden = input.Hidden;
        var h = hidden.add(selfAttn.forward(new LayerInput(inputLayerNorm.forward(hidden), input.Context)), Scalars.One);
        var output = h.add(mlp.forward(postAttentionLayerNorm.forward(h)), Scalars.One);
        return output.MoveToOuterDisposeScope();
    }
}
