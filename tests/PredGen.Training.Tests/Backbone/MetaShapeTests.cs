using PredGen.Training.Model;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

/// <summary>
/// Shapes of full-size models on the meta device: every parameter has a shape and no storage, so a Llama-3-sized
/// model (1.2 B parameters) builds in milliseconds with no weights allocated. (libtorch's C++ build has no meta kernel
/// for index_select, so a forward cannot run on meta; LlamaForwardTests check forward shapes on the CPU.) The device is
/// passed to the constructor, not set as torch's default: that default is process-wide, and tests run in parallel.
/// </summary>
public sealed class MetaShapeTests
{
    /// <summary>meta-llama/Llama-3.2-1B's config.json, the values that set shapes.</summary>
    private static LlamaConfig Llama32OneB() => new()
    {
        VocabSize = 128256, HiddenSize = 2048, IntermediateSize = 8192, NumHiddenLayers = 16, NumAttentionHeads = 32,
        NumKeyValueHeadsValue = 8, HeadDimValue = 64, MaxPositionEmbeddings = 131072, RopeTheta = 500000, TieWordEmbeddings = true,
        RopeScaling = new RopeScaling { RopeType = "llama3", Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 },
    };

    public static TheoryData<string> Configs => ["small", "llama-3.2-1b"];

    private static LlamaConfig ConfigNamed(string name) => name == "small" ? LlamaConfig.Small(4096) : Llama32OneB();

    [Theory]
    [MemberData(nameof(Configs))]
    public void Every_parameter_has_the_shape_its_config_implies_and_no_storage(string name)
    {
        var config = ConfigNamed(name);
        using var model = new LlamaForCausalLM(config, META);
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.All(model.parameters(), p => Assert.Equal(TorchSharp.DeviceType.META, p.device.type));
        Assert.Equal(config.ParameterCount(), shapes.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));

        long h = config.HiddenSize, q = config.NumAttentionHeads * config.HeadDim, kv = config.NumKeyValueHeads * config.HeadDim;
        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [config.VocabSize, h],
            ["model.norm.weight"] = [h],
        };
        if (!config.TieWordEmbeddings) expected["lm_head.weight"] = [config.VocabSize, h];
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string l = $"model.layers.{i}.";
            expected[l + "self_attn.q_proj.weight"] = [q, h];
            expected[l + "self_attn.k_proj.weight"] = [kv, h];
            expected[l + "self_attn.v_proj.weight"] = [kv, h];
            expected[l + "self_attn.o_proj.weight"] = [h, q];
            expected[l + "mlp.gate_proj.weight"] = [config.IntermediateSize, h];
            expected[l + "mlp.up_proj.weight"] = [config.IntermediateSize, h];
            expected[l + "mlp.down_proj.weight"] = [h, config.IntermediateSize];
            expected[l + "input_layernorm.weight"] = [h];
            expected[l + "post_attention_layernorm.weight"] = [h];
        }
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), shapes.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, shape) in expected) Assert.True(shape.SequenceEqual(shapes[key]), $"{key}: [{string.Join(", ", shapes[key])}], expected [{string.Join(", ", shape)}]");
    }

    [Fact]
    public void The_llama_3_2_1b_layout_has_its_published_parameter_count_and_grouped_key_value_projections()
    {
        var config = Llama32OneB();
        using var model = new LlamaForCausalLM(config, META);
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        // 1,235,814,400 parameters: the figure Hugging Face lists for Llama-3.2-1B (embeddings tied to the head).
        Assert.Equal(1_235_814_400L, shapes.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
        Assert.False(shapes.ContainsKey("lm_head.weight"));
        Assert.Equal([2048L, 2048], shapes["model.layers.15.self_attn.q_proj.weight"]);
        Assert.Equal([512L, 2048], shapes["model.layers.15.self_attn.k_proj.weight"]); // 8 key/value heads x 64
        Assert.Equal([8192L, 2048], shapes["model.layers.0.mlp.gate_proj.weight"]);
        Assert.Equal([128256L, 2048], shapes["model.embed_tokens.weight"]);
    }
}
