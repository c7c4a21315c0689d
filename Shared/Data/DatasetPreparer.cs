using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PredGen.Shared.Storage;

namespace PredGen.Shared.Data;

// Minimal stand-in (pipeline helper) behind the names agreed in /work/coord/NOTES.md; the prepare-report helper owns
// the real one (CSV, duplicates, statistics). JSONL only here.

public sealed record DatasetPreparationOptions
{
    public TaskKind? Kind { get; init; }
    public int MinRows { get; init; } = 10;
}

public sealed record PreparedDataset
{
    public required string Task { get; init; }
    public required string RunId { get; init; }
    public required TaskKind Kind { get; init; }
    public IReadOnlyList<string>? Labels { get; init; }
    public NumberFormat? NumberFormat { get; init; }
    public int TrainRows { get; init; }
    public int ValidationRows { get; init; }
    public int TestRows { get; init; }
    public int RejectedRows { get; init; }
    public IReadOnlyDictionary<string, int> RejectedByReason { get; init; } = new Dictionary<string, int>();
}

/// <summary>The data cannot train a model (empty, one class, too few usable rows); the message says why.</summary>
public sealed class DatasetRejectedException : Exception
{
    public DatasetRejectedException() { }
    public DatasetRejectedException(string message) : base(message) { }
    public DatasetRejectedException(string message, Exception inner) : base(message, inner) { }
}

public static class DatasetPreparer
{
    public static async Task<PreparedDataset> PrepareAsync(IArtifactStore store, string task, string runId, string datasetPath,
        DatasetPreparationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new DatasetPreparationOptions();
        string text = await store.ReadTextAsync(datasetPath, cancellationToken).ConfigureAwait(false)
            ?? throw new DatasetRejectedException($"{datasetPath} does not exist");
        var rows = new List<PreparedRow>();
        var rejected = new StringBuilder();
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        int line = 0;
        foreach (var raw in text.Split('\n'))
        {
            line++;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            try
            {
                var row = PreparedRow.Parse(raw.TrimEnd('\r'), $"{datasetPath}:{line}");
                rows.Add(row with { Id = "r" + line.ToString(CultureInfo.InvariantCulture) });
            }
            catch (FormatException e)
            {
                reasons["malformed"] = reasons.GetValueOrDefault("malformed") + 1;
                rejected.Append(JsonSerializer.Serialize(new { line, reason = "malformed", detail = e.Message })).Append('\n');
            }
        }
        var kind = options.Kind ?? (rows.Count > 0 && rows.All(r => r.Value != null) ? TaskKind.Regression : TaskKind.Classification);
        await store.WriteTextAsync(BlobLayout.Rejected(task, runId), rejected.ToString(), cancellationToken).ConfigureAwait(false);
        await store.WriteTextAsync(BlobLayout.PreparedStats(task, runId), JsonSerializer.Serialize(new { rows = rows.Count, rejected = reasons }), cancellationToken).ConfigureAwait(false);
        if (rows.Count < options.MinRows)
            throw new DatasetRejectedException($"{datasetPath}: {rows.Count} usable rows, at least {options.MinRows} needed ({reasons.Values.Sum()} rejected)");
        List<string>? labels = null;
        NumberFormat? format = null;
        if (kind == TaskKind.Classification)
        {
            labels = rows.Select(r => r.Label ?? r.Value?.ToString(CultureInfo.InvariantCulture) ?? "").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (labels.Count < 2) throw new DatasetRejectedException($"{datasetPath}: a single class ('{labels[0]}'); classification needs at least two");
        }
        else
        {
            format = NumberFormat.Infer(rows.Select(r => r.Value ?? 0));
        }
        var splits = rows.GroupBy(r => SplitOf(r.Text)).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var split in new[] { "train", "validation", "test" })
        {
            var part = splits.GetValueOrDefault(split) ?? [];
            await store.WriteTextAsync(BlobLayout.Prepared(task, runId, split), string.Concat(part.Select(r => r.ToJsonLine() + "\n")), cancellationToken).ConfigureAwait(false);
        }
        return new PreparedDataset
        {
            Task = task, RunId = runId, Kind = kind, Labels = labels, NumberFormat = format,
            TrainRows = splits.GetValueOrDefault("train")?.Count ?? 0,
            ValidationRows = splits.GetValueOrDefault("validation")?.Count ?? 0,
            TestRows = splits.GetValueOrDefault("test")?.Count ?? 0,
            RejectedRows = reasons.Values.Sum(), RejectedByReason = reasons,
        };
    }

    private static string SplitOf(string text)
    {
        int bucket = SHA256.HashData(Encoding.UTF8.GetBytes(text))[0] % 10;
        return bucket < 8 ? "train" : bucket < 9 ? "validation" : "test";
    }
}
