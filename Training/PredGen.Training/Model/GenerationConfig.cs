using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredGen.Training.Model;

/// <summary>
/// Hugging Face's generation_config.json: the ids that start and end a generation (Llama 3.x lists several end ids,
/// e.g. [128001, 128008, 128009]) and the sampling defaults the model was published with. PredGen's methods decode
/// greedily under their own answer grammar, so the sampling fields are informative; the end ids form the stop set.
/// </summary>
public sealed record GenerationConfig
{
    public const string FileName = "generation_config.json";

    [JsonPropertyName("bos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public IReadOnlyList<int> BosTokenIds { get; init; } = [];

    [JsonPropertyName("eos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }
    [JsonPropertyName("do_sample")] public bool? DoSample { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("top_k")] public int? TopK { get; init; }
    [JsonPropertyName("max_new_tokens")] public int? MaxNewTokens { get; init; }
    [JsonPropertyName("max_length")] public int? MaxLength { get; init; }
    [JsonPropertyName("repetition_penalty")] public double? RepetitionPenalty { get; init; }

    /// <summary>Keys this record does not model (transformers_version, ...).</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>generation_config.json of a model directory, or null when it has none.</summary>
    public static GenerationConfig? Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<GenerationConfig>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Every id that ends a generation for this model: the tokenizer's EOS (what fine-tuning teaches it to emit), the
    /// config's eos ids and the generation config's, in that order and without repeats.
    /// </summary>
    public static IReadOnlyList<int> StopTokenIds(int tokenizerEos, LlamaConfig config, GenerationConfig? generation)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new[] { tokenizerEos }.Concat(config.EosTokenIds).Concat(generation?.EosTokenIds ?? []).Where(id => id >= 0).Distinct().ToList();
    }
}
