using System.Text.Json.Nodes;
using PredGen.Training.Checkpoints;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

/// <summary>
/// Writes a directory exactly as transformers' LlamaForCausalLM.save_pretrained lays out a (tiny, bf16) Llama 3 style
/// checkpoint: its config.json keys (including ones we do not model), tensor names and [out, in] shapes, written
/// independently of our model classes; plus a byte-level BPE tokenizer.json and tokenizer_config.json.
/// </summary>
internal static class HuggingFaceFixture
{
    private const int Vocab = 128, Hidden = 64, Ffn = 128, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 16;

    public static void Write(string directory, string? drop = null, (string Name, long[] Shape)? reshape = null, string? extra = null)
    {
        Directory.CreateDirectory(directory);
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = 1,
            ["eos_token_id"] = new JsonArray(2, 3),
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["hidden_size"] = Hidden,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = Ffn,
            ["max_position_embeddings"] = 4096,
            ["mlp_bias"] = false,
            ["model_type"] = "llama",
            ["num_attention_heads"] = Heads,
            ["num_hidden_layers"] = Layers,
            ["num_key_value_heads"] = KvHeads,
            ["pretraining_tp"] = 1,
            ["rms_norm_eps"] = 1e-6,
            ["rope_scaling"] = new JsonObject
            {
                ["factor"] = 8.0, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0,
                ["original_max_position_embeddings"] = 1024, ["rope_type"] = "llama3",
            },
            ["rope_theta"] = 500000.0,
            ["tie_word_embeddings"] = false,
            ["torch_dtype"] = "bfloat16",
            ["transformers_version"] = "4.46.0",
            ["use_cache"] = true,
            ["vocab_size"] = Vocab,
        };
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJsonString());

        manual_seed(11);
        var shapes = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [Vocab, Hidden],
            ["model.norm.weight"] = [Hidden],
            ["lm_head.weight"] = [Vocab, Hidden],
        };
        for (int i = 0; i < Layers; i++)
        {
            string p = $"model.layers.{i}.";
            shapes[p + "self_attn.q_proj.weight"] = [Heads * HeadDim, Hidden];
            shapes[p + "self_attn.k_proj.weight"] = [KvHeads * HeadDim, Hidden];
            shapes[p + "self_attn.v_proj.weight"] = [KvHeads * HeadDim, Hidden];
            shapes[p + "self_attn.o_proj.weight"] = [Hidden, Heads * HeadDim];
            shapes[p + "mlp.gate_proj.weight"] = [Ffn, Hidden];
            shapes[p + "mlp.up_proj.weight"] = [Ffn, Hidden];
            shapes[p + "mlp.down_proj.weight"] = [Hidden, Ffn];
            shapes[p + "input_layernorm.weight"] = [Hidden];
            shapes[p + "post_attention_layernorm.weight"] = [Hidden];
        }
        if (drop is not null) shapes.Remove(drop);
        if (reshape is { } r) shapes[r.Name] = r.Shape;
        if (extra is not null) shapes[extra] = [HeadDim];
        using var scope = NewDisposeScope();
        var tensors = shapes.ToDictionary(
            kv => kv.Key,
            kv => (kv.Value.Length == 1 ? ones(kv.Value) : randn(kv.Value) * 0.02).to(ScalarType.BFloat16));
        SafeTensors.Write(Path.Combine(directory, ModelDirectory.WeightsFile), tensors);
        WriteTokenizer(directory);
    }

    private static readonly string[] Merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r"];

    private static readonly List<string> VocabTokens =
        ["<unk>", .. "abcdefghijklmnopqrstuvwxyzĠ0123456789.,!?".Select(c => c.ToString()), .. Merges.Select(m => m.Replace(" ", "", StringComparison.Ordinal))];

    public static int VocabId(string token) => VocabTokens.IndexOf(token);

    /// <summary>A byte-level BPE tokenizer.json: a small vocabulary of GPT-2 byte symbols (Ġ = space), some merges, specials as added tokens.</summary>
    private static void WriteTokenizer(string directory)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < VocabTokens.Count; i++) vocab[VocabTokens[i]] = i;
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 100, ["content"] = "<|begin_of_text|>", ["special"] = true },
                new JsonObject { ["id"] = 101, ["content"] = "<|end_of_text|>", ["special"] = true }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(Merges.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
            },
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), tokenizer.ToJsonString());
        var tokenizerConfig = new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|end_of_text|>" };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), tokenizerConfig.ToJsonString());
    }
}
