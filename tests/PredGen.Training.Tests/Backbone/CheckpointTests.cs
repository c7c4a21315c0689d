using System.Text.Json.Nodes;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

public sealed class CheckpointTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("predgen-ckpt-").FullName;
    private static readonly TorchOptions Cpu = new() { Device = "cpu" };

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static Tensor Logits(LlamaForCausalLM model, Tensor ids)
    {
        using var _ = no_grad();
        return model.forward(new CausalLMInput(ids)).Logits!;
    }

    [Fact]
    public void A_saved_and_reloaded_model_gives_identical_logits_and_tokenizer()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var ids = randint(0, 256, [2, 7]);
        ModelDirectory.Save(model, new ByteTokenizer(), root);
        var (loaded, tokenizer) = ModelDirectory.Load(root, Cpu);
        using (loaded)
        {
            Assert.Equal(0f, TinyModels.MaxAbsDiff(Logits(model, ids), Logits(loaded, ids)));
            Assert.IsType<ByteTokenizer>(tokenizer);
            Assert.Equal(model.Config.ToJson(), loaded.Config.ToJson());
        }
    }

    [Fact]
    public void A_sharded_checkpoint_with_an_index_file_loads_to_the_same_logits()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        ModelDirectory.Save(model, new ByteTokenizer(), root, maxShardBytes: 20_000);
        var shards = Directory.GetFiles(root, "model-*-of-*.safetensors");
        Assert.True(shards.Length >= 3, $"{shards.Length} shards");
        Assert.False(File.Exists(Path.Combine(root, ModelDirectory.WeightsFile)));
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(root, ModelDirectory.IndexFile)))!;
        Assert.Equal(model.parameters().Count(), index["weight_map"]!.AsObject().Count);
        Assert.Equal(model.parameters().Sum(p => p.numel()) * 4, index["metadata"]!["total_size"]!.GetValue<long>());

        using var loaded = ModelDirectory.LoadModel(root, Cpu);
        var ids = randint(0, 256, [1, 6]);
        Assert.Equal(0f, TinyModels.MaxAbsDiff(Logits(model, ids), Logits(loaded, ids)));
    }

    [Theory]
    [InlineData("bfloat16", 2e-2)]
    [InlineData("float16", 5e-3)]
    public void Half_precision_on_disk_loads_into_fp32_or_runs_in_that_precision(string dtypeName, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var dtype = TorchRuntime.ResolveDType(new TorchOptions { DType = dtypeName });
        ModelDirectory.Save(model, new ByteTokenizer(), root, dtype);
        Assert.Equal(dtypeName, JsonNode.Parse(File.ReadAllText(Path.Combine(root, "config.json")))!["torch_dtype"]!.GetValue<string>());
        var (entries, _, _) = SafeTensors.ReadHeader(Path.Combine(root, ModelDirectory.WeightsFile));
        Assert.All(entries, e => Assert.Equal(dtype, e.DType));

        var ids = randint(0, 256, [2, 5]);
        using var asFp32 = ModelDirectory.LoadModel(root, Cpu);
        float fp32Diff = TinyModels.MaxAbsDiff(Logits(model, ids), Logits(asFp32, ids));
        using var asHalf = ModelDirectory.LoadModel(root, new TorchOptions { Device = "cpu", DType = dtypeName });
        Assert.Equal(dtype, asHalf.DType);
        float halfDiff = TinyModels.MaxAbsDiff(Logits(model, ids), Logits(asHalf, ids));
        Assert.True(fp32Diff < tolerance, $"{dtypeName} weights in fp32: max diff {fp32Diff}");
        Assert.True(halfDiff < 5 * tolerance, $"{dtypeName} model: max diff {halfDiff}");
    }

    [Fact]
    public void A_checkpoint_laid_out_like_hugging_face_llama_loads_and_runs()
    {
        using var scope = NewDisposeScope();
        HuggingFaceFixture.Write(root);
        var (model, tokenizer) = ModelDirectory.Load(root, Cpu);
        using (model)
        {
            Assert.Equal(128, model.Config.VocabSize);
            Assert.Equal(2, model.Config.NumKeyValueHeads);
            Assert.Equal(1e-6, model.Config.RmsNormEps);
            Assert.Equal(500000.0, model.Config.RopeTheta);
            Assert.Equal("llama3", model.Config.RopeScaling!.Kind);
            Assert.Equal(2, model.Config.EosTokenId); // first of [2, 3]
            Assert.True(model.Config.Extra!.ContainsKey("transformers_version"));
            // Every tensor came from the file: the embedding row equals the fixture's.
            var fixture = SafeTensors.Read(Path.Combine(root, ModelDirectory.WeightsFile));
            Assert.Equal(0f, TinyModels.MaxAbsDiff(model.Model.EmbedTokens.weight!, fixture["model.embed_tokens.weight"].to(ScalarType.Float32)));
            var logits = Logits(model, TinyModels.Ids([1, 5, 9, 17]));
            Assert.Equal([1L, 4L, 128L], logits.shape);
            Assert.False(logits.isnan().any().item<bool>());
            Assert.IsType<HuggingFaceTokenizer>(tokenizer);
        }
    }

    [Fact]
    public void A_missing_tensor_is_an_error_that_names_it()
    {
        using var scope = NewDisposeScope();
        HuggingFaceFixture.Write(root, drop: "model.layers.1.mlp.up_proj.weight");
        var e = Assert.Throws<InvalidDataException>(() => ModelDirectory.LoadModel(root, Cpu));
        Assert.Contains("missing tensor 'model.layers.1.mlp.up_proj.weight'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_an_error_that_names_it_and_both_shapes()
    {
        using var scope = NewDisposeScope();
        HuggingFaceFixture.Write(root, reshape: ("model.layers.0.self_attn.k_proj.weight", [16L, 64L]));
        var e = Assert.Throws<InvalidDataException>(() => ModelDirectory.LoadModel(root, Cpu));
        Assert.Contains("'model.layers.0.self_attn.k_proj.weight' has shape [16, 64]", e.Message, StringComparison.Ordinal);
        Assert.Contains("expects [32, 64]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unexpected_tensor_is_an_error_that_names_it()
    {
        using var scope = NewDisposeScope();
        HuggingFaceFixture.Write(root, extra: "model.layers.0.self_attn.q_norm.weight");
        var e = Assert.Throws<InvalidDataException>(() => ModelDirectory.LoadModel(root, Cpu));
        Assert.Contains("'model.layers.0.self_attn.q_norm.weight'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Safetensors_round_trip_every_supported_dtype_bit_exactly()
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4),
            ["bf16"] = randn(5).to(ScalarType.BFloat16),
            ["f16"] = randn(2, 2, 2).to(ScalarType.Float16),
            ["i64"] = arange(7L),
            ["empty"] = zeros(0, 3),
        };
        string path = Path.Combine(root, "x.safetensors");
        SafeTensors.Write(path, tensors);
        Assert.Equal(0, SafeTensors.ReadHeader(path).DataStart % 8); // data section 8-byte aligned like the reference writer
        var back = SafeTensors.Read(path);
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.dtype, back[name].dtype);
            Assert.Equal(t.shape, back[name].shape);
            Assert.True(t.eq(back[name]).all().item<bool>(), name);
        }
    }
}
