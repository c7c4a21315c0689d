using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredGen.Shared.Data;

/// <summary>The split names of a prepared dataset, in the order trainers and reports list them, and their file names
/// (the one place that knows them: the blob layout, the worker's scratch folder and the trainer all ask here).</summary>
public static class DatasetSplit
{
    public const string Train = "train";
    public const string Validation = "validation";
    public const string Test = "test";

    public const string TrainFile = Train + FileExtension;
    public const string ValidationFile = Validation + FileExtension;
    public const string TestFile = Test + FileExtension;

    /// <summary>Prepared rows are JSON lines (<see cref="PreparedRow"/>).</summary>
    public const string FileExtension = ".jsonl";

    public static IReadOnlyList<string> All { get; } = [Train, Validation, Test];

    /// <summary>"train" -> "train.jsonl".</summary>
    public static string FileName(string split)
    {
        ArgumentException.ThrowIfNullOrEmpty(split);
        return split + FileExtension;
    }
}

/// <summary>How the uploaded file is read (docs/DATA.md).</summary>
public enum DatasetFormat
{
    Jsonl,
    Csv,
    Tsv,
}

/// <summary>
/// stats.json of a prepared run (runs/{task}/{runId}/prepared/stats.json): what was read, what was kept, what was
/// quarantined and why, and what the kept rows look like. Written also when preparation fails (then
/// <see cref="Failure"/> says why and no split files exist), so a failed run still explains itself.
/// Invariant: <c>InputRows == PreparedRows + RejectedRows + UnsplitRows</c>, where UnsplitRows is non-zero only for a
/// failed run (usable rows that were not written because the run stopped).
/// </summary>
public sealed record DatasetStats
{
    public required string Source { get; init; }
    public required DatasetFormat Format { get; init; }
    /// <summary>Null only when the run failed before the kind could be decided (no usable label at all).</summary>
    public TaskKind? Kind { get; init; }
    /// <summary>"given" (the caller said) or "inferred" (all labels numeric: regression; otherwise classification).</summary>
    public required string KindSource { get; init; }
    public required int InputRows { get; init; }
    public required int PreparedRows { get; init; }
    public required int RejectedRows { get; init; }
    /// <summary>Usable rows not written because the run failed (0 on success).</summary>
    public int UnsplitRows { get; init; }
    /// <summary>Reason code (see <see cref="RejectReason"/>) -> count, ordered by code.</summary>
    public required IReadOnlyDictionary<string, int> RejectedByReason { get; init; }
    /// <summary>train / validation / test -> their statistics (empty when the run failed).</summary>
    public required IReadOnlyDictionary<string, SplitStats> Splits { get; init; }
    /// <summary>Classification: the label set, ordinal order. Null for regression.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>Regression: the digit format of the targets (PredGen writes numbers as tokens). Null for classification.</summary>
    public NumberFormat? NumberFormat { get; init; }
    /// <summary>Character lengths of <c>text</c> over the prepared rows.</summary>
    public TextLengthStats? TextLength { get; init; }
    /// <summary>How many prepared rows have a second text (sentence pairs).</summary>
    public int RowsWithTextB { get; init; }
    public required SplitFractions Fractions { get; init; }
    public string? Failure { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, DataJson.Indented);

    public static DatasetStats FromJson(string json) =>
        JsonSerializer.Deserialize<DatasetStats>(json, DataJson.Options) ?? throw new FormatException("stats.json is empty");
}

public sealed record SplitStats(
    int Rows,
    /// <summary>Classification: label -> count. Null for regression.</summary>
    IReadOnlyDictionary<string, int>? Classes,
    /// <summary>Regression: the targets' range and moments. Null for classification or an empty split.</summary>
    ValueStats? Values);

/// <summary>Population statistics of regression targets.</summary>
public sealed record ValueStats(double Min, double Max, double Mean, double Std)
{
    public static ValueStats? Of(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return null;
        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Count;
        return new ValueStats(values.Min(), values.Max(), mean, Math.Sqrt(variance));
    }
}

/// <summary>Nearest-rank percentiles of text length in characters.</summary>
public sealed record TextLengthStats(int Min, int P50, int P90, int P95, int P99, int Max, double Mean)
{
    public static TextLengthStats? Of(IReadOnlyList<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Count == 0) return null;
        var sorted = lengths.Order().ToArray();
        int P(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new TextLengthStats(sorted[0], P(0.50), P(0.90), P(0.95), P(0.99), sorted[^1], Math.Round(sorted.Average(), 2));
    }
}

/// <summary>The share of hash buckets that go to train and validation; test takes the rest.</summary>
public sealed record SplitFractions(double Train, double Validation)
{
    public static SplitFractions Default { get; } = new(0.8, 0.1);

    public double Test => Math.Round(1 - Train - Validation, 6);
}

/// <summary>One quarantined input row (a line of rejected.jsonl): where it was, why, and the raw text as read.</summary>
public sealed record RejectedRow(string File, long Line, string Reason, string Detail, string Raw)
{
    public string ToJsonLine() => JsonSerializer.Serialize(this, DataJson.Options);

    public static RejectedRow FromJsonLine(string line) =>
        JsonSerializer.Deserialize<RejectedRow>(line, DataJson.Options) ?? throw new FormatException("empty rejected row");
}

/// <summary>The reason codes of rejected.jsonl (docs/DATA.md lists them with examples).</summary>
public static class RejectReason
{
    /// <summary>A JSONL line that is not a JSON object.</summary>
    public const string MalformedJson = "malformed_json";
    /// <summary>A CSV record with broken quoting or a different number of fields than the header.</summary>
    public const string MalformedCsv = "malformed_csv";
    /// <summary>No <c>text</c>/<c>text_a</c> or no <c>label</c>.</summary>
    public const string MissingField = "missing_field";
    /// <summary>A field of the wrong JSON type (text not a string; label an object, array).</summary>
    public const string WrongType = "wrong_type";
    public const string EmptyText = "empty_text";
    public const string EmptyLabel = "empty_label";
    /// <summary>Regression: the label is not a number.</summary>
    public const string NonNumericLabel = "non_numeric_label";
    /// <summary>NaN or infinity.</summary>
    public const string NonFiniteLabel = "non_finite_label";
    /// <summary>Regression: a number too large to write as an answer (more integer digits than MaxIntegerDigits).</summary>
    public const string LabelOutOfRange = "label_out_of_range";
    /// <summary>Same text (and text_b) and same label as an earlier row: the first is kept.</summary>
    public const string Duplicate = "duplicate";
    /// <summary>Same text (and text_b) with different labels: every such row is rejected.</summary>
    public const string ConflictingLabels = "conflicting_labels";
    /// <summary>Classification: the class has fewer examples than the minimum needed to split it.</summary>
    public const string RareClass = "rare_class";

    public static IReadOnlyList<string> All { get; } =
        [MalformedJson, MalformedCsv, MissingField, WrongType, EmptyText, EmptyLabel, NonNumericLabel, NonFiniteLabel, Duplicate, ConflictingLabels, RareClass];
}

/// <summary>JSON of the data artifacts: snake_case names, enums as snake_case strings.</summary>
public static class DataJson
{
    public static JsonSerializerOptions Options { get; } = Create(indented: false);
    public static JsonSerializerOptions Indented { get; } = Create(indented: true);

    private static JsonSerializerOptions Create(bool indented)
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            WriteIndented = indented,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
