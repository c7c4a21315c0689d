using PredGen.Training.Generation;
using PredGen.Training.Model;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

public sealed class LlamaForwardTests
{
    [Fact]
    public void Parameter_names_and_shapes_are_hugging_face_llama_names()
    {
        using var model = TinyModels.Create();
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal([264L, 32L], shapes["model.embed_tokens.weight"]);
        Assert.Equal([32L, 32L], shapes["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal([16L, 32L], shapes["model.layers.1.self_attn.k_proj.weight"]); // 2 kv heads x 8 dims
        Assert.Equal([16L, 32L], shapes["model.layers.1.self_attn.v_proj.weight"]);
        Assert.Equal([32L, 32L], shapes["model.layers.0.self_attn.o_proj.weight"]);
        Assert.Equal([64L, 32L], shapes["model.layers.0.mlp.gate_proj.weight"]);
        Assert.Equal([64L, 32L], shapes["model.layers.0.mlp.up_proj.weight"]);
        Assert.Equal([32L, 64L], shapes["model.layers.0.mlp.down_proj.weight"]);
        Assert.Equal([32L], shapes["model.layers.0.input_layernorm.weight"]);
        Assert.Equal([32L], shapes["model.layers.0.post_attention_layernorm.weight"]);
        Assert.Equal([32L], shapes["model.norm.weight"]);
        Assert.Equal([264L, 32L], shapes["lm_head.weight"]);
        Assert.Equal(2 * 9 + 3, shapes.Count);
        Assert.Empty(model.named_buffers());
        Assert.Equal(model.Config.ParameterCount(), model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Forward_gives_logits_and_final_hidden_states_of_the_right_shapes()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var output = model.forward(new CausalLMInput(randint(0, 256, [3, 5])));
        Assert.Equal([3L, 5L, 264L], output.Logits!.shape);
        Assert.Equal([3L, 5L, 32L], output.HiddenStates.shape);
        Assert.Equal(ScalarType.Float32, output.Logits.dtype);
        Assert.Null(model.forward(new CausalLMInput(randint(0, 256, [1, 4]), ComputeLogits: false)).Logits);
    }

    [Fact]
    public void A_left_padded_row_gives_the_same_logits_as_the_unpadded_sequence()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        using var _ = no_grad();
        var alone = model.forward(new CausalLMInput(TinyModels.Ids([10, 20, 30]))).Logits!;
        var ids = TinyModels.Ids([256, 256, 10, 20, 30], [1, 2, 3, 4, 5]);
        var mask = TinyModels.Ids([0, 0, 1, 1, 1], [1, 1, 1, 1, 1]);
        var batch = model.forward(new CausalLMInput(ids, mask)).Logits!;
        float diff = TinyModels.MaxAbsDiff(batch[0].narrow(0, 2, 3), alone[0]);
        Assert.True(diff < 1e-5f, $"max |padded - unpadded| = {diff}");
        Assert.False(batch.isnan().any().item<bool>());
    }

    [Fact]
    public void Incremental_decoding_with_the_kv_cache_equals_a_full_forward_with_left_padding()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        using var _ = no_grad();
        // Two left-padded prompts, then 4 tokens appended one at a time through the cache.
        var prompt = TinyModels.Ids([256, 256, 256, 11, 12, 13], [21, 22, 23, 24, 25, 26]);
        var promptMask = TinyModels.Ids([0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]);
        var next = TinyModels.Ids([40, 41, 42, 43], [50, 51, 52, 53]);
        var full = model.forward(new CausalLMInput(cat([prompt, next], 1), cat([promptMask, ones_like(next)], 1))).Logits!;

        using var cache = model.NewCache();
        var stepLogits = new List<Tensor> { model.forward(new CausalLMInput(prompt, promptMask, cache)).Logits! };
        for (int i = 0; i < 4; i++)
            stepLogits.Add(model.forward(new CausalLMInput(next.narrow(1, i, 1), null, cache)).Logits!);
        var incremental = cat(stepLogits, 1);

        Assert.Equal(10, cache.Length);
        // Compare real-token positions only (padding positions are don't-care).
        var real = cat([promptMask, ones_like(next)], 1).to(ScalarType.Bool).unsqueeze(-1);
        float diff = (full - incremental).abs().masked_fill(real.logical_not(), 0).max().item<float>();
        Assert.True(diff < 1e-4f, $"max |full - incremental| = {diff}");
    }

    [Fact]
    public void Packed_segments_each_continue_the_cached_prompt_as_if_alone()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        using var _ = no_grad();
        // Two left-padded prompts; three continuations of lengths 2, 3 and 1 packed into one row each (exact label scoring).
        var prompt = TinyModels.Ids([256, 256, 11, 12, 13], [21, 22, 23, 24, 25]);
        var promptMask = TinyModels.Ids([0, 0, 1, 1, 1], [1, 1, 1, 1, 1]);
        long[][] continuations = [[40, 41], [50, 51, 52], [60]];
        using var packedCache = model.NewCache();
        model.forward(new CausalLMInput(prompt, promptMask, packedCache));
        long[] packedTokens = [.. continuations.SelectMany(c => c)];
        int[] segments = [0, 0, 1, 1, 1, 2];
        var packed = model.forward(new CausalLMInput(TinyModels.Ids(packedTokens, packedTokens), null, packedCache, Segments: segments)).Logits!;

        int start = 0;
        foreach (var continuation in continuations)
        {
            using var alone = model.NewCache();
            model.forward(new CausalLMInput(prompt, promptMask, alone));
            var expected = model.forward(new CausalLMInput(TinyModels.Ids(continuation, continuation), null, alone)).Logits!;
            float diff = TinyModels.MaxAbsDiff(packed.narrow(1, start, continuation.Length), expected);
            Assert.True(diff < 1e-4f, $"continuation at {start}: max |packed - alone| = {diff}");
            start += continuation.Length;
        }
        Assert.Throws<ArgumentException>(() => model.forward(new CausalLMInput(TinyModels.Ids([1, 2], [1, 2]), null, model.NewCache(), Segments: [0, 0])));
    }

    [Fact]
    public void Chunked_prefill_through_the_cache_equals_a_full_forward()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        using var _ = no_grad();
        var ids = randint(0, 256, [2, 9]);
        var full = model.forward(new CausalLMInput(ids)).Logits!;
        using var cache = model.NewCache();
        var a = model.forward(new CausalLMInput(ids.narrow(1, 0, 5), null, cache)).Logits!;
        var b = model.forward(new CausalLMInput(ids.narrow(1, 5, 4), null, cache)).Logits!;
        float diff = TinyModels.MaxAbsDiff(full, cat([a, b], 1));
        Assert.True(diff < 1e-4f, $"max diff {diff}");
    }

    [Fact]
    public void Greedy_decoding_in_a_padded_batch_matches_decoding_each_prompt_alone()
    {
        using var model = TinyModels.Create(seed: 3);
        List<IReadOnlyList<int>> prompts = [(int[])[257, 65, 66], (int[])[257, 70, 71, 72, 73, 74]];
        var stop = new HashSet<int> { ByteTokenizer.EosToken };
        var batch = GreedyDecoder.Generate(model, prompts, 6, ByteTokenizer.PadToken, stop, returnHiddenStates: true);
        for (int r = 0; r < prompts.Count; r++)
        {
            var alone = GreedyDecoder.Generate(model, [prompts[r]], 6, ByteTokenizer.PadToken, stop);
            Assert.Equal(alone.Tokens[0], batch.Tokens[r]);
        }
        Assert.Equal([2L, batch.Tokens.Max(t => t.Length), 32L], batch.HiddenStates!.shape);
        batch.HiddenStates.Dispose();
    }

    [Fact]
    public void A_row_stops_at_its_stop_token_and_a_constraint_restricts_and_completes_rows()
    {
        using var model = TinyModels.Create(seed: 5);
        List<IReadOnlyList<int>> prompts = [(int[])[257, 49], (int[])[257, 50, 51]];
        var digits = Enumerable.Range('0', 10).ToHashSet();
        var constraint = new ThreeDigits(digits);
        var result = GreedyDecoder.Generate(model, prompts, 10, ByteTokenizer.PadToken, new HashSet<int> { ByteTokenizer.EosToken }, constraint);
        foreach (var row in result.Tokens)
        {
            Assert.Equal(3, row.Length);
            Assert.All(row, id => Assert.Contains(id, digits));
        }
    }

    private sealed class ThreeDigits(IReadOnlySet<int> digits) : IDecodingConstraint
    {
        public IReadOnlySet<int>? AllowedNext(int row, IReadOnlyList<int> generatedSoFar) =>
            generatedSoFar.Count < 3 ? digits : new HashSet<int>();
    }
}
