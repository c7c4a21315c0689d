using System.Text.Json.Nodes;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

/// <summary>Model directories as users have them from the hub (ModelFamilyFixtures), loaded with ModelDirectory.Load.</summary>
public sealed class ModelFamilyTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("predgen-family-").FullName;
    private static readonly TorchOptions Cpu = new() { Device = "cpu" };

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static void AssertRunsAndMatchesTheFile(LlamaForCausalLM model, string directory, params int[] ids)
    {
        using var _ = no_grad();
        var fixture = SafeTensors.Read(Path.Combine(directory, ModelDirectory.WeightsFile));
        foreach (var (name, parameter) in model.named_parameters())
            Assert.True(parameter.allclose(fixture[name].to(ScalarType.Float32), 0, 0), name);
        Assert.Equal(fixture.Count, model.named_parameters().Count());
        var logits = model.forward(new CausalLMInput(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))).Logits!;
        Assert.Equal([1L, ids.Length, model.Config.VocabSize], logits.shape);
        Assert.False(logits.isnan().any().item<bool>());
    }

    [Fact]
    public void A_llama_2_directory_loads_with_its_sentencepiece_tokenizer_fp16_weights_and_generation_config()
    {
        using var scope = NewDisposeScope();
        ModelFamilyFixtures.WriteLlama2(root);
        var (model, tokenizer) = ModelDirectory.Load(root, Cpu);
        using (model)
        {
            var c = model.Config;
            Assert.Null(c.RopeScaling); // "rope_scaling": null
            Assert.Equal((4, 4, 16), (c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim));
            Assert.False(c.TieWordEmbeddings);
            Assert.Equal([1], c.BosTokenIds);
            Assert.Equal([2], c.EosTokenIds);
            Assert.Equal("float16", c.TorchDtype);
            Assert.True(c.Extra!.ContainsKey("pretraining_tp"));
            AssertRunsAndMatchesTheFile(model, root, 1, 270 - 1, 5);

            var hf = Assert.IsType<HuggingFaceTokenizer>(tokenizer); // tokenizer.json is SentencePiece-style: tokenizer.model is used
            Assert.Equal((1, 2, 2), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId)); // "pad_token": null pads with EOS
            Assert.Equal(270, tokenizer.VocabSize);
            var plain = tokenizer.Encode("the hat");
            Assert.Contains(SentencePieceFixture.Id("▁the"), plain);
            // Special tokens written in the text are the special ids, as transformers encodes them, and Decode drops them.
            var ids = tokenizer.Encode("<s>the hat</s>");
            Assert.Equal(1, ids[0]);
            Assert.Equal(2, ids[^1]);
            Assert.DoesNotContain(ids.Skip(1).SkipLast(1), id => id is 1 or 2);
            Assert.Equal("the hat", tokenizer.Decode(ids).Trim());
            Assert.Contains(1, hf.SpecialTokenIds);

            var generation = GenerationConfig.Load(root)!;
            Assert.Equal((0.6, 0.9, 0, 4096), (generation.Temperature, generation.TopP, generation.PadTokenId, generation.MaxLength));
            Assert.Equal([2], GenerationConfig.StopTokenIds(tokenizer.EosId, c, generation));
        }
    }

    [Fact]
    public void A_llama_3_2_directory_loads_with_tied_embeddings_head_dim_llama3_rope_and_eos_lists()
    {
        using var scope = NewDisposeScope();
        ModelFamilyFixtures.WriteLlama32(root);
        var (model, tokenizer) = ModelDirectory.Load(root, Cpu);
        using (model)
        {
            var c = model.Config;
            Assert.Equal(16, c.HeadDim); // head_dim given, not hidden / heads (48 / 4 = 12)
            Assert.Equal([64L, 48L], model.named_parameters().Single(p => p.name == "model.layers.0.self_attn.q_proj.weight").parameter.shape);
            Assert.True(c.TieWordEmbeddings);
            Assert.DoesNotContain(model.named_parameters(), p => p.name == "lm_head.weight");
            Assert.Equal("llama3", c.RopeScaling!.Kind);
            Assert.Equal((32.0, 8192), (c.RopeScaling.Factor, c.RopeScaling.OriginalMaxPositionEmbeddings));
            Assert.Equal([ModelFamilyFixtures.EndOfText, ModelFamilyFixtures.EndOfMessage, ModelFamilyFixtures.EndOfTurn], c.EosTokenIds);
            Assert.Equal(ModelFamilyFixtures.BeginOfText, c.BosTokenId);
            AssertRunsAndMatchesTheFile(model, root, ModelFamilyFixtures.BeginOfText, 3, 17);

            // tokenizer_config.json names the instruct model's end of turn as eos_token; generation stops at every end id.
            Assert.Equal((100, 103, 103), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId));
            var generation = GenerationConfig.Load(root);
            Assert.Equal([103, 101, 102], GenerationConfig.StopTokenIds(tokenizer.EosId, c, generation));

            var ids = tokenizer.Encode("<|begin_of_text|>Hi the cat 12345<|eot_id|>");
            // Split regex: "Hi" " the" " cat" " " "123" "45"; ignore_merges makes "Ġcat" and "123" one token each although no
            // merges build them; "45" is not in the vocabulary and falls back to BPE.
            int[] expected = [100, Id("Hi"), Id("Ġthe"), Id("Ġcat"), Id("Ġ"), Id("123"), Id("4"), Id("5"), 103];
            Assert.Equal(expected, ids);
            Assert.Equal("Hi the cat 12345", tokenizer.Decode(ids));
            Assert.Equal("<|begin_of_text|>Hi the cat 12345<|eot_id|>", tokenizer.Decode(ids, skipSpecialTokens: false));

            // A saved copy keeps the eos list, head_dim and the tokenizer's and generation files.
            string copy = Path.Combine(root, "saved");
            ModelDirectory.Save(model, tokenizer, copy);
            var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "config.json")))!;
            Assert.Equal("[101,102,103]", saved["eos_token_id"]!.ToJsonString());
            Assert.Equal(16, saved["head_dim"]!.GetValue<int>());
            Assert.True(File.Exists(Path.Combine(copy, GenerationConfig.FileName)));
            Assert.Contains("chat_template", File.ReadAllText(Path.Combine(copy, "tokenizer_config.json")), StringComparison.Ordinal);
            var (reloaded, tokenizer2) = ModelDirectory.Load(copy, Cpu);
            using (reloaded) Assert.Equal(ids, tokenizer2.Encode("<|begin_of_text|>Hi the cat 12345<|eot_id|>"));
        }

        static int Id(string token) => ModelFamilyFixtures.Llama3Tokens.IndexOf(token);
    }

    [Fact]
    public void A_smollm2_directory_loads_and_splits_every_digit_before_byte_level_bpe()
    {
        using var scope = NewDisposeScope();
        ModelFamilyFixtures.WriteSmolLm2(root);
        var (model, tokenizer) = ModelDirectory.Load(root, Cpu);
        using (model)
        {
            var c = model.Config;
            Assert.Equal((3, 1), (c.NumAttentionHeads, c.NumKeyValueHeads));
            Assert.True(c.TieWordEmbeddings);
            Assert.Equal(2, c.PadTokenId);
            Assert.True(c.Extra!.ContainsKey("rope_interleaved"));
            Assert.Equal(100000.0, c.RopeTheta);
            AssertRunsAndMatchesTheFile(model, root, 1, 20, 2);

            Assert.Equal((1, 2, 2), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId));
            var ids = tokenizer.Encode("<|im_start|>x 123 the<|im_end|>");
            // Digits(individual_digits) first: "x ", "1", "2", "3", " the"; then GPT-2's regex: "x", " ". The merges
            // "Ġ 1" and "1 2" never see a digit next to a space or another digit.
            int[] expected = [1, Id("x"), Id("Ġ"), Id("1"), Id("2"), Id("3"), Id("Ġthe"), 2];
            Assert.Equal(expected, ids);
            Assert.Equal("x 123 the", tokenizer.Decode(ids));
        }

        static int Id(string token) => ModelFamilyFixtures.SmolId(token);
    }

    [Theory]
    [InlineData("""{"rope_scaling": null}""", "default", 1.0)]
    [InlineData("""{"rope_scaling": {"type": "linear", "factor": 2.0}}""", "linear", 2.0)]
    [InlineData("""{"rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}}""", "llama3", 8.0)]
    [InlineData("""{"rope_scaling": {"rope_type": "default"}}""", "default", 1.0)]
    public void Rope_scaling_variants_of_published_configs_parse(string json, string kind, double factor)
    {
        var c = LlamaConfig.Parse(json);
        Assert.Equal(kind, c.RopeScaling?.Kind ?? "default");
        Assert.Equal(factor, c.RopeScaling?.Factor ?? 1.0);
    }

    [Fact]
    public void Rope_scaling_this_model_does_not_implement_is_refused_by_name()
    {
        var e = Assert.Throws<NotSupportedException>(() => LlamaConfig.Parse("""{"rope_scaling": {"type": "dynamic", "factor": 2.0}}"""));
        Assert.Contains("'dynamic'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]}""", new[] { 128000 }, new[] { 128001, 128008, 128009 })]
    [InlineData("""{"bos_token_id": [1], "eos_token_id": 2}""", new[] { 1 }, new[] { 2 })]
    [InlineData("""{"bos_token_id": null, "eos_token_id": null}""", new int[0], new int[0])]
    public void Bos_and_eos_ids_may_be_numbers_lists_or_null(string json, int[] bos, int[] eos)
    {
        var c = LlamaConfig.Parse(json);
        Assert.Equal(bos, c.BosTokenIds);
        Assert.Equal(eos, c.EosTokenIds);
        Assert.Equal(eos.Length > 0 ? eos[0] : -1, c.EosTokenId);
        var again = LlamaConfig.Parse(c.ToJson());
        Assert.Equal(eos, again.EosTokenIds);
    }
}
