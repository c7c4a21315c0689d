using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredGen.Training.Model;

/// <summary>
/// Hyper-parameters of a Llama-architecture decoder, read from and written to a Hugging Face style config.json
/// (the JSON names are Hugging Face's, so a real checkpoint's config loads unchanged; unknown keys round-trip).
/// </summary>
public sealed record LlamaConfig
{
    [JsonPropertyName("architectures")] public IReadOnlyList<string> Architectures { get; init; } = ["LlamaForCausalLM"];
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 32000;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 4096;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 11008;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 32;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 32;

    /// <summary>Grouped-query attention: heads share key/value projections in groups; older configs omit the key (= heads).</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeadsValue { get; init; }

    [JsonIgnore] public int NumKeyValueHeads => NumKeyValueHeadsValue ?? NumAttentionHeads;

    /// <summary>Explicit head size (Llama 3.2 style configs carry it); null means hidden / heads.</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimValue { get; init; }

    [JsonIgnore] public int HeadDim => HeadDimValue ?? HiddenSize / NumAttentionHeads;

    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 2048;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-6;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; init; }
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; init; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    /// <summary>bos_token_id as written: one id, or a list (some configs), or null.</summary>
    [JsonPropertyName("bos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public IReadOnlyList<int> BosTokenIds { get; init; } = [1];

    /// <summary>Llama 3.x configs give a list of end tokens ([128001, 128008, 128009]); all of them end a generation.</summary>
    [JsonPropertyName("eos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public IReadOnlyList<int> EosTokenIds { get; init; } = [2];

    /// <summary>The first bos id (-1 when the config names none).</summary>
    [JsonIgnore]
    public int BosTokenId { get => BosTokenIds.Count > 0 ? BosTokenIds[0] : -1; init => BosTokenIds = [value]; }

    /// <summary>The first eos id (-1 when the config names none); the tokenizer's EOS is what fine-tuning targets.</summary>
    [JsonIgnore]
    public int EosTokenId { get => EosTokenIds.Count > 0 ? EosTokenIds[0] : -1; init => EosTokenIds = [value]; }

    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }

    /// <summary>Precision the checkpoint is stored in ("float32", "float16", "bfloat16").</summary>
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; } = "float32";

    /// <summary>Keys this class does not model (use_cache, transformers_version, ...), kept so that a save round-trips them.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>For unit tests: a few thousand parameters, every architectural feature present (GQA, several layers).</summary>
    public static LlamaConfig Tiny(int vocabSize) => new()
    {
        VocabSize = vocabSize,
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeadsValue = 2,
        MaxPositionEmbeddings = 256,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        BosTokenId = Tokenization.ByteTokenizer.BosToken,
        EosTokenId = Tokenization.ByteTokenizer.EosToken,
        PadTokenId = Tokenization.ByteTokenizer.PadToken,
    };

    /// <summary>
    /// The project's default base model: 3.04 M parameters at vocab 264 (12.2 MB in fp32, well under the 30 MB commit limit).
    /// Why this size: it is pretrained on 2 CPU cores in 30-45 minutes. At the ~40-60 GFLOP/s a training step reaches
    /// there, 6 x 3 M FLOP/token gives roughly 2-3 k tokens/s, i.e. 4-8 M byte tokens in the budget; Chinchilla's
    /// compute-optimal size for that budget is ~1 M parameters, but below hidden 256 the matmuls get too small to run
    /// efficiently on CPU and fine-tuned representations get worse, so we take hidden 256 and spend the depth budget
    /// on 4 layers. 8 heads of 32 dims with 4 key/value heads exercise grouped-query attention like Llama 3;
    /// ffn 688 ~ 8/3 x hidden rounded to a multiple of 16 (Llama's SwiGLU sizing); 512 positions cover prompts plus
    /// generated answers of the fine-tuning tasks. Untied embeddings as in Hugging Face's Llama default.
    /// </summary>
    public static LlamaConfig Small(int vocabSize) => new()
    {
        VocabSize = vocabSize,
        HiddenSize = 256,
        IntermediateSize = 688,
        NumHiddenLayers = 4,
        NumAttentionHeads = 8,
        NumKeyValueHeadsValue = 4,
        MaxPositionEmbeddings = 512,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        BosTokenId = Tokenization.ByteTokenizer.BosToken,
        EosTokenId = Tokenization.ByteTokenizer.EosToken,
        PadTokenId = Tokenization.ByteTokenizer.PadToken,
    };

    public static LlamaConfig Load(string configJsonPath)
    {
        using var stream = File.OpenRead(configJsonPath);
        var config = JsonSerializer.Deserialize<LlamaConfig>(stream, JsonOptions)
            ?? throw new InvalidDataException($"{configJsonPath} is empty.");
        config.Validate(configJsonPath);
        return config;
    }

    public static LlamaConfig Parse(string json)
    {
        var config = JsonSerializer.Deserialize<LlamaConfig>(json, JsonOptions) ?? throw new InvalidDataException("config.json is empty.");
        config.Validate("config.json");
        return config;
    }

    public void Save(string configJsonPath)
    {
        string? dir = Path.GetDirectoryName(configJsonPath);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllText(configJsonPath, ToJson());
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parameter count of the decoder (embeddings and head included, tied weights counted once).</summary>
    public long ParameterCount()
    {
        long h = HiddenSize, kv = (long)NumKeyValueHeads * HeadDim, q = (long)NumAttentionHeads * HeadDim;
        long attention = h * q + 2 * h * kv + q * h + (AttentionBias ? q + 2 * kv + h : 0);
        long mlp = 3 * h * IntermediateSize + (MlpBias ? 2 * IntermediateSize + h : 0);
        long layer = attention + mlp + 2 * h;
        long embeddings = (long)VocabSize * h * (TieWordEmbeddings ? 1 : 2);
        return NumHiddenLayers * layer + embeddings + h;
    }

    private void Validate(string source)
    {
        if (ModelType is not ("llama" or "mistral" or "qwen2"))
            throw new NotSupportedException($"{source}: model_type '{ModelType}' is not a Llama-architecture decoder.");
        if (HiddenAct != "silu")
            throw new NotSupportedException($"{source}: hidden_act '{HiddenAct}' is not supported (Llama uses silu).");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new InvalidDataException($"{source}: num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}.");
        if (HeadDim % 2 != 0)
            throw new InvalidDataException($"{source}: head_dim {HeadDim} must be even for rotary embeddings.");
        RopeScaling?.Validate(source);
    }
}

/// <summary>Hugging Face's rope_scaling block: "linear" (position interpolation) and "llama3" (Llama 3.1 frequency-dependent scaling).</summary>
public sealed record RopeScaling
{
    [JsonPropertyName("rope_type")] public string? RopeType { get; init; }

    /// <summary>Older configs name the kind "type" instead of "rope_type".</summary>
    [JsonPropertyName("type")] public string? LegacyType { get; init; }

    [JsonPropertyName("factor")] public double Factor { get; init; } = 1.0;
    [JsonPropertyName("low_freq_factor")] public double LowFreqFactor { get; init; } = 1.0;
    [JsonPropertyName("high_freq_factor")] public double HighFreqFactor { get; init; } = 4.0;
    [JsonPropertyName("original_max_position_embeddings")] public int OriginalMaxPositionEmbeddings { get; init; } = 8192;
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public string Kind => RopeType ?? LegacyType ?? "default";

    internal void Validate(string source)
    {
        if (Kind is not ("default" or "linear" or "llama3"))
            throw new NotSupportedException($"{source}: rope_scaling type '{Kind}' is not supported (default, linear, llama3).");
    }
}

/// <summary>Reads a token id, a list of ids, or null (no ids); writes one id as a number and several as a list, as Hugging Face does.</summary>
internal sealed class TokenIdsConverter : JsonConverter<IReadOnlyList<int>>
{
    public override bool HandleNull => true;

    public override IReadOnlyList<int> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return [];
            case JsonTokenType.Number:
                return [reader.GetInt32()];
            case JsonTokenType.StartArray:
                var ids = new List<int>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number) throw new JsonException("expected a list of token ids");
                    ids.Add(reader.GetInt32());
                }
                return ids;
            default:
                throw new JsonException("expected a token id, a list of token ids or null");
        }
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<int> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Count == 0) { writer.WriteNullValue(); return; }
        if (value.Count == 1) { writer.WriteNumberValue(value[0]); return; }
        writer.WriteStartArray();
        foreach (int id in value) writer.WriteNumberValue(id);
        writer.WriteEndArray();
    }
}
