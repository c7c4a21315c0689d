using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>
/// Llama decoder with a language-model head. Parameter names equal Hugging Face's LlamaForCausalLM
/// (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight), so
/// checkpoints map with no renaming. Built on the CPU in fp32 (or on <c>device</c>: the meta device gives a model
/// with shapes and no storage); move with .to(device) / .to(dtype) afterwards.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module<CausalLMInput, CausalLMOutput>
{
    [TorchSharp.Utils.ComponentName(Name = "model")] private readonly LlamaModel model;
    [TorchSharp.Utils.ComponentName(Name = "lm_head")] private readonly AdaptableLinear? lmHead;

    public LlamaForCausalLM(LlamaConfig config, Device? device = null) : base(nameof(LlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        model = new LlamaModel(config, device);
        lmHead = config.TieWordEmbeddings ? null : new AdaptableLinear(config.HiddenSize, config.VocabSize, hasBias: false, device);
        RegisterComponents();
        InitializeWeights();
    }

    public LlamaConfig Config { get; }

    public LlamaModel Model => model;

    /// <summary>Device of the parameters.</summary>
    public Device Device => model.EmbedTokens.weight!.device;

    /// <summary>Precision of the parameters.</summary>
    public ScalarType DType => model.EmbedTokens.weight!.dtype;

    public KVCache NewCache() => new(Config.NumHiddenLayers);

    public override CausalLMOutput forward(CausalLMInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var hidden = model.forward(input);
        var logits = input.ComputeLogits ? Logits(hidden) : null;
        return new CausalLMOutput(logits, hidden, input.Cache);
    }

    /// <summary>lm_head (or the tied embedding) applied to final-norm hidden states [.., H]; fp32 logits [.., V].</summary>
    public Tensor Logits(Tensor hiddenStates)
    {
        ArgumentNullException.ThrowIfNull(hiddenStates);
        using var scope = NewDisposeScope();
        var logits = lmHead is not null
            ? lmHead.forward(hiddenStates)
            : nn.functional.linear(hiddenStates, model.EmbedTokens.weight!);
        return (logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    /// <summary>Hugging Face's Llama initialisation: N(0, initializer_range) for projections and embeddings, zero biases, unit norms.</summary>
    private void InitializeWeights()
    {
        using var _ = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name == "model.norm.weight") nn.init.ones_(parameter);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) nn.init.zeros_(parameter);
            else nn.init.normal_(parameter, 0, Config.InitializerRange);
        }
    }
}
