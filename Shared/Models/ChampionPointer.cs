using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredGen.Shared.Models;

/// <summary>
/// The pointer to the model that serves a task: <c>models/{task}/champion.json</c> (<see cref="Storage.BlobLayout.Champion"/>).
/// PromoteChampion writes it with an ETag condition; the prediction worker polls its ETag and hot-swaps the model.
/// <see cref="ModelPath"/> is the artifact-store path of the model folder (BlobLayout.JobModel) that TrainedModel loads.
/// </summary>
public sealed record ChampionPointer(
    string Task,
    string RunId,
    string JobId,
    string Method,
    string ModelPath,
    string Metric,
    double Value,
    DateTimeOffset PromotedAt)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses a pointer; a malformed one is an error (the caller keeps serving the model it has).</summary>
    public static ChampionPointer Parse(string json)
    {
        var pointer = JsonSerializer.Deserialize<ChampionPointer>(json, JsonOptions)
            ?? throw new FormatException("champion.json is empty");
        if (string.IsNullOrEmpty(pointer.Task) || string.IsNullOrEmpty(pointer.ModelPath))
            throw new FormatException("champion.json needs 'task' and 'model_path'");
        return pointer;
    }
}
