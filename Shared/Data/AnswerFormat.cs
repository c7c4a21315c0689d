using System.Text.Json.Serialization;

namespace PredGen.Shared.Data;

/// <summary>
/// What a model answers with: the label set (classification) or the number format (regression). The pipeline decides it
/// once, in <see cref="DatasetPreparer"/> over every usable row, and the decision travels to each training job
/// (<see cref="Jobs.JobMessage.AnswerFormat"/>), so the report's "targets are generated as ..." is the format the model
/// writes. A trainer given no decision (`predgen train` alone) decides with the same functions over its training rows.
/// </summary>
public sealed record AnswerFormat
{
    /// <summary>Classification: the label set, in ordinal order (the model's class order).</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Regression: how targets are written as tokens.</summary>
    [JsonPropertyName("number_format")]
    public NumberFormat? NumberFormat { get; init; }

    /// <summary>The label set of <paramref name="labels"/>: distinct, in ordinal order.</summary>
    public static AnswerFormat ForClassification(IEnumerable<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return new AnswerFormat { Labels = [.. labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)] };
    }

    /// <summary>The number format of <paramref name="values"/> (<see cref="NumberFormat.Infer"/>).</summary>
    public static AnswerFormat ForRegression(IEnumerable<double> values, int maxDecimals = NumberFormat.DefaultMaxDecimals) =>
        new() { NumberFormat = NumberFormat.Infer(values, maxDecimals) };

    /// <summary>The decision for prepared rows of <paramref name="kind"/>.</summary>
    public static AnswerFormat Of(TaskKind kind, IEnumerable<PreparedRow> rows, int maxDecimals = NumberFormat.DefaultMaxDecimals)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return kind == TaskKind.Classification
            ? ForClassification(rows.Select(r => r.Label ?? throw new InvalidDataException($"row {r.Id} has no label")))
            : ForRegression(rows.Select(r => r.Value ?? throw new InvalidDataException($"row {r.Id} has no value")), maxDecimals);
    }

    /// <summary>Throws unless this decision fits <paramref name="kind"/> and every one of <paramref name="rows"/> (a label
    /// outside the set is a contract break between the preparer and the trainer, not something to train around).</summary>
    public void Check(TaskKind kind, IEnumerable<PreparedRow> rows, string source)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (kind == TaskKind.Classification)
        {
            if (Labels is not { Count: > 0 }) throw new InvalidDataException($"the answer format for {source} has no label set, but the task is classification");
            var known = Labels.ToHashSet(StringComparer.Ordinal);
            foreach (var row in rows)
                if (row.Label is not string label || !known.Contains(label))
                    throw new InvalidDataException($"{source}: row {row.Id} has the label '{row.Label}', which is not in the prepared label set [{string.Join(", ", Labels)}]");
        }
        else if (NumberFormat == null)
        {
            throw new InvalidDataException($"the answer format for {source} has no number format, but the task is regression");
        }
    }
}
