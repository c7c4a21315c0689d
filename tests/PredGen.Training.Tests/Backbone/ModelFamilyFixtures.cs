using System.Text.Json.Nodes;
using PredGen.Training.Checkpoints;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

/// <summary>
/// Model directories shaped like the published Hugging Face repositories of three Llama families, at tiny sizes:
/// the same files (config.json, generation_config.json, tokenizer.json, tokenizer_config.json, tokenizer.model for
/// Llama 2, model.safetensors), the same keys with the same kinds of values (including the ones this project does not
/// model: chat_template, added_tokens_decoder, model_max_length, rope_interleaved, ...), and the same tensor names.
/// Written from the structure of meta-llama/Llama-2-7b-hf, meta-llama/Llama-3.2-1B-Instruct and
/// HuggingFaceTB/SmolLM2-135M-Instruct; nothing is downloaded.
/// </summary>
internal static class ModelFamilyFixtures
{
    public const string ChatTemplate = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}";

    // ---- Llama 2: SentencePiece tokenizer.model plus a non-byte-level tokenizer.json, fp16 weights, untied head ----

    public static void WriteLlama2(string directory)
    {
        Directory.CreateDirectory(directory);
        int vocab = SentencePieceFixture.VocabSize;
        var config = new JsonObject
        {
            ["_name_or_path"] = "meta-llama/Llama-2-7b-hf",
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
            ["hidden_act"] = "silu",
            ["hidden_size"] = 64,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = 172,
            ["max_position_embeddings"] = 4096,
            ["model_type"] = "llama",
            ["num_attention_heads"] = 4,
            ["num_hidden_layers"] = 2,
            ["num_key_value_heads"] = 4,
            ["pretraining_tp"] = 1,
            ["rms_norm_eps"] = 1e-05,
            ["rope_scaling"] = null,
            ["tie_word_embeddings"] = false,
            ["torch_dtype"] = "float16",
            ["transformers_version"] = "4.31.0.dev0",
            ["use_cache"] = true,
            ["vocab_size"] = vocab,
        };
        Save(directory, "config.json", config);
        Save(directory, "generation_config.json", new JsonObject
        {
            ["bos_token_id"] = 1, ["do_sample"] = true, ["eos_token_id"] = 2, ["max_length"] = 4096, ["pad_token_id"] = 0,
            ["temperature"] = 0.6, ["top_p"] = 0.9, ["transformers_version"] = "4.31.0.dev0",
        });
        SentencePieceFixture.Write(Path.Combine(directory, "tokenizer.model"));
        JsonObject Added(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        };
        var vocabulary = new JsonObject();
        foreach (var (piece, id) in SentencePieceFixture.Vocabulary()) vocabulary[piece] = id;
        Save(directory, "tokenizer.json", new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Added(0, "<unk>"), Added(1, "<s>"), Added(2, "</s>")),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
            },
            ["decoder"] = new JsonObject { ["type"] = "Sequence", ["decoders"] = new JsonArray(new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" }) },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = "<unk>", ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = true, ["byte_fallback"] = true,
                ["vocab"] = vocabulary, ["merges"] = new JsonArray("▁ t", "h e", "▁t he", "a t", "▁ h", "▁h at"),
            },
        });
        JsonObject AddedToken(string content) => new()
        {
            ["__type"] = "AddedToken", ["content"] = content, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false,
        };
        Save(directory, "tokenizer_config.json", new JsonObject
        {
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["bos_token"] = AddedToken("<s>"),
            ["chat_template"] = ChatTemplate,
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = AddedToken("</s>"),
            ["legacy"] = false,
            ["model_max_length"] = JsonNode.Parse("1000000000000000019884624838656"),
            ["pad_token"] = null,
            ["padding_side"] = "right",
            ["sp_model_kwargs"] = new JsonObject(),
            ["tokenizer_class"] = "LlamaTokenizer",
            ["unk_token"] = AddedToken("<unk>"),
        });
        WriteWeights(directory, vocab, hidden: 64, ffn: 172, layers: 2, heads: 4, kvHeads: 4, headDim: 16, tied: false, ScalarType.Float16);
    }

    // ---- Llama 3.2: byte-level BPE with a Split regex and ignore_merges, eos lists, head_dim, llama3 rope, tied ----

    public const int Llama3Vocab = 128;
    public const int BeginOfText = 100, EndOfText = 101, EndOfMessage = 102, EndOfTurn = 103, StartHeader = 104, EndHeader = 105;

    /// <summary>Byte-level symbols for letters, digits, some punctuation, 'Ġ' (space) and 'Ċ' (newline), then merged tokens.</summary>
    public static readonly List<string> Llama3Tokens =
        [.. "abcdefghijklmnopqrstuvwxyzHĠĊ0123456789.,!?'".Select(c => c.ToString()), "he", "Ġt", "Ġthe", "Ġcat", "123", "Hi"];

    public static void WriteLlama32(string directory)
    {
        Directory.CreateDirectory(directory);
        Save(directory, "config.json", new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = BeginOfText,
            ["eos_token_id"] = new JsonArray(EndOfText, EndOfMessage, EndOfTurn),
            ["head_dim"] = 16,
            ["hidden_act"] = "silu",
            ["hidden_size"] = 48,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = 128,
            ["max_position_embeddings"] = 131072,
            ["mlp_bias"] = false,
            ["model_type"] = "llama",
            ["num_attention_heads"] = 4,
            ["num_hidden_layers"] = 2,
            ["num_key_value_heads"] = 2,
            ["pretraining_tp"] = 1,
            ["rms_norm_eps"] = 1e-05,
            ["rope_scaling"] = new JsonObject
            {
                ["factor"] = 32.0, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0,
                ["original_max_position_embeddings"] = 8192, ["rope_type"] = "llama3",
            },
            ["rope_theta"] = 500000.0,
            ["tie_word_embeddings"] = true,
            ["torch_dtype"] = "bfloat16",
            ["transformers_version"] = "4.45.0.dev0",
            ["use_cache"] = true,
            ["vocab_size"] = Llama3Vocab,
        });
        Save(directory, "generation_config.json", new JsonObject
        {
            ["bos_token_id"] = BeginOfText, ["do_sample"] = true, ["eos_token_id"] = new JsonArray(EndOfText, EndOfMessage, EndOfTurn),
            ["temperature"] = 0.6, ["top_p"] = 0.9, ["transformers_version"] = "4.45.0.dev0",
        });
        var specials = new (int Id, string Content)[]
        {
            (BeginOfText, "<|begin_of_text|>"), (EndOfText, "<|end_of_text|>"), (EndOfMessage, "<|eom_id|>"), (EndOfTurn, "<|eot_id|>"),
            (StartHeader, "<|start_header_id|>"), (EndHeader, "<|end_header_id|>"),
        };
        var vocabulary = new JsonObject();
        for (int i = 0; i < Llama3Tokens.Count; i++) vocabulary[Llama3Tokens[i]] = i;
        Save(directory, "tokenizer.json", new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(specials.Select(s => (JsonNode)new JsonObject
            {
                ["id"] = s.Id, ["content"] = s.Content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" },
                        ["behavior"] = "Isolated", ["invert"] = false,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["processors"] = new JsonArray(
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                    new JsonObject { ["type"] = "TemplateProcessing" }),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = true,
                ["vocab"] = vocabulary,
                // "Ġcat" and "123" have no merges that build them: only ignore_merges makes them single tokens.
                ["merges"] = new JsonArray("Ġ t", "h e", "Ġt he", "H i"),
            },
        });
        var decoder = new JsonObject();
        foreach (var (id, content) in specials)
            decoder[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = content, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
            };
        Save(directory, "tokenizer_config.json", new JsonObject
        {
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = "<|begin_of_text|>",
            ["chat_template"] = "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}",
            ["clean_up_tokenization_spaces"] = true,
            ["eos_token"] = "<|eot_id|>",
            ["model_input_names"] = new JsonArray("input_ids", "attention_mask"),
            ["model_max_length"] = 131072,
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
        });
        WriteWeights(directory, Llama3Vocab, hidden: 48, ffn: 128, layers: 2, heads: 4, kvHeads: 2, headDim: 16, tied: true, ScalarType.BFloat16);
    }

    // ---- SmolLM2: byte-level BPE with Digits(individual) + ByteLevel(use_regex), ChatML specials, tied, bos/eos ints ----

    public const int SmolVocab = 96;
    public const int SmolEndOfText = 0, SmolImStart = 1, SmolImEnd = 2;

    public static readonly List<string> SmolTokens =
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", .. "abcdefghijklmnopqrstuvwxyzĠĊ0123456789.,:-".Select(c => c.ToString()), "Ġ1", "12", "Ġt", "he", "Ġthe"];

    public static int SmolId(string token) => SmolTokens.IndexOf(token);

    public static void WriteSmolLm2(string directory)
    {
        Directory.CreateDirectory(directory);
        Save(directory, "config.json", new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = SmolImStart,
            ["eos_token_id"] = SmolImEnd,
            ["hidden_act"] = "silu",
            ["hidden_size"] = 48,
            ["initializer_range"] = 0.041666666666666664,
            ["intermediate_size"] = 128,
            ["is_llama_config"] = true,
            ["max_position_embeddings"] = 8192,
            ["model_type"] = "llama",
            ["num_attention_heads"] = 3,
            ["num_hidden_layers"] = 2,
            ["num_key_value_heads"] = 1,
            ["pad_token_id"] = SmolImEnd,
            ["pretraining_tp"] = 1,
            ["rms_norm_eps"] = 1e-05,
            ["rope_interleaved"] = false,
            ["rope_scaling"] = null,
            ["rope_theta"] = 100000,
            ["tie_word_embeddings"] = true,
            ["torch_dtype"] = "bfloat16",
            ["transformers_version"] = "4.42.3",
            ["use_cache"] = true,
            ["vocab_size"] = SmolVocab,
        });
        Save(directory, "generation_config.json", new JsonObject
        {
            ["bos_token_id"] = SmolImStart, ["eos_token_id"] = SmolImEnd, ["pad_token_id"] = SmolImEnd, ["transformers_version"] = "4.42.3",
        });
        var vocabulary = new JsonObject();
        for (int i = 0; i < SmolTokens.Count; i++) vocabulary[SmolTokens[i]] = i;
        Save(directory, "tokenizer.json", new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Enumerable.Range(0, 4).Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i, ["content"] = SmolTokens[i], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }),
            },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["vocab"] = vocabulary,
                // Newer tokenizers write merges as pairs; "Ġ 1" and "1 2" would fire if digits were not split first.
                ["merges"] = new JsonArray(new JsonArray("Ġ", "1"), new JsonArray("1", "2"), new JsonArray("Ġ", "t"), new JsonArray("h", "e"), new JsonArray("Ġt", "he")),
            },
        });
        var decoder = new JsonObject();
        for (int i = 0; i < 4; i++)
            decoder[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = SmolTokens[i], ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
            };
        Save(directory, "tokenizer_config.json", new JsonObject
        {
            ["add_prefix_space"] = false,
            ["added_tokens_decoder"] = decoder,
            ["additional_special_tokens"] = new JsonArray("<|im_start|>", "<|im_end|>"),
            ["bos_token"] = "<|im_start|>",
            ["chat_template"] = ChatTemplate,
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = "<|im_end|>",
            ["model_max_length"] = 8192,
            ["pad_token"] = "<|im_end|>",
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["unk_token"] = "<|endoftext|>",
            ["vocab_size"] = SmolVocab,
        });
        WriteWeights(directory, SmolVocab, hidden: 48, ffn: 128, layers: 2, heads: 3, kvHeads: 1, headDim: 16, tied: true, ScalarType.BFloat16);
    }

    private static void Save(string directory, string file, JsonObject json) =>
        File.WriteAllText(Path.Combine(directory, file), json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Hugging Face LlamaForCausalLM tensor names and [out, in] shapes; no lm_head.weight when the embeddings are tied.</summary>
    private static void WriteWeights(string directory, int vocab, int hidden, int ffn, int layers, int heads, int kvHeads, int headDim, bool tied, ScalarType dtype)
    {
        manual_seed(7);
        var shapes = new Dictionary<string, long[]> { ["model.embed_tokens.weight"] = [vocab, hidden], ["model.norm.weight"] = [hidden] };
        if (!tied) shapes["lm_head.weight"] = [vocab, hidden];
        for (int i = 0; i < layers; i++)
        {
            string p = $"model.layers.{i}.";
            shapes[p + "self_attn.q_proj.weight"] = [heads * headDim, hidden];
            shapes[p + "self_attn.k_proj.weight"] = [kvHeads * headDim, hidden];
            shapes[p + "self_attn.v_proj.weight"] = [kvHeads * headDim, hidden];
            shapes[p + "self_attn.o_proj.weight"] = [hidden, heads * headDim];
            shapes[p + "mlp.gate_proj.weight"] = [ffn, hidden];
            shapes[p + "mlp.up_proj.weight"] = [ffn, hidden];
            shapes[p + "mlp.down_proj.weight"] = [hidden, ffn];
            shapes[p + "input_layernorm.weight"] = [hidden];
            shapes[p + "post_attention_layernorm.weight"] = [hidden];
        }
        using var scope = NewDisposeScope();
        var tensors = shapes.ToDictionary(kv => kv.Key, kv => (kv.Value.Length == 1 ? ones(kv.Value) : randn(kv.Value) * 0.02).to(dtype));
        SafeTensors.Write(Path.Combine(directory, ModelDirectory.WeightsFile), tensors, metadata: new Dictionary<string, string> { ["format"] = "pt" });
    }
}
