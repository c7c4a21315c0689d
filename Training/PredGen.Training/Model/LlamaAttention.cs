using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>Grouped-query self-attention with rotary positions; Hugging Face names q_proj, k_proj, v_proj, o_proj.</summary>
public sealed class LlamaAttention : nn.Module<LayerInput, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "q_proj")] private readonly AdaptableLinear qProj;
    [TorchSharp.Utils.ComponentName(Name = "k_proj")] private readonly AdaptableLinear kProj;
    [TorchSharp.Utils.ComponentName(Name = "v_proj")] private readonly AdaptableLinear vProj;
    [TorchSharp.Utils.ComponentName(Name = "o_proj")] private readonly AdaptableLinear oProj;
    private readonly int layerIndex;
    private readonly int heads;
    private readonly int kvHeads;
    private readonly int headDim;

    public LlamaAttention(LlamaConfig config, int layerIndex, Device? device = null) : base(nameof(LlamaAttention))
    {
        ArgumentNullException.ThrowIfNull(config);
        this.layerIndex = layerIndex;
        heads = config.NumAttentionHeads;
        kvHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        qProj = new AdaptableLinear(config.HiddenSize, heads * headDim, config.AttentionBias, device);
        kProj = new AdaptableLinear(config.HiddenSize, kvHeads * headDim, config.AttentionBias, device);
        vProj = new AdaptableLinear(config.HiddenSize, kvHeads * headDim, config.AttentionBias, device);
        oProj = new AdaptableLinear(heads * headDim, config.HiddenSize, config.AttentionBias, device);
        RegisterComponents();
    }

    public override Tensor forward(LayerInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (hidden, context) = (input.Hidden, input.Context);
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        var q = qProj.forward(hidden).view(b, t, heads, headDim).transpose(1, 2);
        var k = kProj.forward(hidden).view(b, t, kvHeads, headDim).transpose(1, 2);
        var v = vProj.forward(hidden).view(b, t, kvHeads, headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, context.Cos, context.Sin);
        k = RotaryEmbedding.Apply(k, context.Cos, context.Sin);
        if (context.Cache is { } cache) (k, v) = cache.Append(layerIndex, k, v);

        var attended = Attend(q, k, v, context.Attention);
        var merged = attended.transpose(1, 2).reshape(b, t, heads * headDim);
        return oProj.forward(merged).MoveToOuterDisposeScope();
    }

    private Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionLayout layout)
    {
        var dtype = q.dtype;
        // Softmax in fp32: on CPU the half-precision attention kernels are slow and accumulate in low precision.
        if (dtype != ScalarType.Float32 && q.device.type == DeviceType.CPU)
        {
            q = q.to(ScalarType.Float32);
            k = k.to(ScalarType.Float32);
            v = v.to(ScalarType.Float32);
        }
        int groups = heads / kvHeads;
        long b = q.shape[0], t = q.shape[2], s = k.shape[2];
        Tensor output;
        if (t == 1 && !layout.IsCausal && groups > 1)
        {
            // One new token: fold the query heads of each key/value group into the query axis instead of copying
            // keys/values per head (the decode step's cost is then reading the cache once).
            var grouped = q.reshape(b, kvHeads, groups, headDim);
            output = nn.functional.scaled_dot_product_attention(grouped, k, v, layout.Mask, 0.0, false)
                .reshape(b, heads, 1, headDim);
        }
        else
        {
            if (groups > 1)
            {
                k = k.unsqueeze(2).expand(b, kvHeads, groups, s, headDim).reshape(b, heads, s, headDim);
                v = v.unsqueeze(2).expand(b, kvHeads, groups, s, headDim).reshape(b, heads, s, headDim);
            }
            output = nn.functional.scaled_dot_product_attention(q, k, v, layout.Mask, 0.0, layout.IsCausal);
        }
        return output.dtype == dtype ? output : output.to(dtype);
    }
}
