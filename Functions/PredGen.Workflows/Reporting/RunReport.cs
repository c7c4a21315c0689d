using System.Globalization;
using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Reporting;

/// <summary>
/// Everything the report of one retraining run shows (reports/{task}/{runId}/): the orchestration's
/// <see cref="RunSummary"/> plus what the report loads from the run's artifacts (curves from metrics.jsonl, test
/// predictions, MINE details, prepared/stats.json). <see cref="RunReportLoader"/> assembles it; tests build it by hand.
/// </summary>
public sealed record RunReport
{
    public required string Task { get; init; }
    public required string RunId { get; init; }
    public required TaskKind Kind { get; init; }
    /// <summary>The uploaded file (datasets/{task}/{file}).</summary>
    public string? DatasetPath { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>One entry per training job (method x seed), failed ones included, and the classical baseline's job
    /// (method <see cref="Methods.Baseline"/>), which the comparison shows as the floor and never as a champion.</summary>
    public required IReadOnlyList<JobReport> Jobs { get; init; }
    /// <summary>The learning-rate trials (method, candidate, validation score, chosen); empty when none ran.</summary>
    public IReadOnlyList<TrialSummary> Trials { get; init; } = [];
    /// <summary>Why no trials ran (e.g. the run fixed the learning rate); null when they ran or nothing is known.</summary>
    public string? TrialsNote { get; init; }
    /// <summary>prepared/stats.json of the run (data quality: rejected rows by reason, split sizes, classes or ranges).</summary>
    public DatasetStats? Data { get; init; }
    public ChampionDecision? Champion { get; init; }
    /// <summary>Run-wide settings worth showing (base model, max steps, methods, seeds, storage...), in display order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = [];
    /// <summary>Wall time per pipeline stage (prepare, train, mine, report...), in order.</summary>
    public IReadOnlyList<StageTiming> Timings { get; init; } = [];
}

public enum JobStatus
{
    Ok,
    Failed,
}

/// <summary>One training job and what came out of it.</summary>
public sealed record JobReport
{
    public required string JobId { get; init; }
    /// <summary>"predictor", "generator" or "predgen"; "baseline" for the classical floor.</summary>
    public required string Method { get; init; }
    public required int Seed { get; init; }
    public required JobStatus Status { get; init; }
    /// <summary>Why the job failed (shown in the report); null when it succeeded.</summary>
    public string? Error { get; init; }
    /// <summary>Metrics on the test split: accuracy, macro_f1 (classification); mse, mae, pearson, spearman, r2
    /// (regression). Other names are shown too, after the known ones.</summary>
    public IReadOnlyDictionary<string, double> TestMetrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Training curve points from the job's metrics.jsonl (<see cref="CurvePoint.FromMetricsJsonl"/>).</summary>
    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];
    /// <summary>Test-split predictions (true vs predicted) for the scatter plot or the confusion matrix.</summary>
    public IReadOnlyList<PredictionPoint> Predictions { get; init; } = [];
    /// <summary>MINE estimates of I(Y; Z): pooled and token-level representations.</summary>
    public IReadOnlyList<MiEstimate> MutualInformation { get; init; } = [];
    /// <summary>Token-level analysis (classification): input tokens most associated with each predicted label.</summary>
    public IReadOnlyList<TokenAssociation> TopTokens { get; init; } = [];
    public double? TrainSeconds { get; init; }
    public double? MineSeconds { get; init; }
    /// <summary>Job settings worth showing (steps, learning rate, batch size, LoRA rank...).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
}

/// <summary>One value of one series of a training curve: <c>loss</c>, <c>l_w</c>, <c>l_d</c>, <c>val_loss</c>...</summary>
public sealed record CurvePoint(long Step, string Metric, double Value)
{
    /// <summary>
    /// Reads a metrics.jsonl: one JSON object per line with a step (<c>step</c> or <c>global_step</c>) and numeric
    /// fields, each of which becomes a series. A string field <c>split</c> or <c>phase</c> (e.g. "validation")
    /// prefixes the series names of its line ("validation_loss"). Lines without a step or not JSON are skipped
    /// (a report must not fail on a truncated last line of a killed job).
    /// </summary>
    public static IReadOnlyList<CurvePoint> FromMetricsJsonl(string jsonl, IReadOnlySet<string>? ignore = null)
    {
        ArgumentNullException.ThrowIfNull(jsonl);
        ignore ??= DefaultIgnored;
        var points = new List<CurvePoint>();
        foreach (var rawLine in jsonl.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException) { continue; }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) continue;
                long? step = root.TryGetProperty("step", out var s) && s.TryGetInt64(out long v) ? v
                    : root.TryGetProperty("global_step", out s) && s.TryGetInt64(out v) ? v : null;
                if (step == null) continue;
                string prefix = root.TryGetProperty("split", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() + "_"
                    : root.TryGetProperty("phase", out p) && p.ValueKind == JsonValueKind.String ? p.GetString() + "_" : "";
                if (prefix == "train_") prefix = "";
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Value.ValueKind != JsonValueKind.Number || ignore.Contains(property.Name)) continue;
                    if (property.Value.TryGetDouble(out double value) && double.IsFinite(value))
                        points.Add(new CurvePoint(step.Value, prefix + property.Name, value));
                }
            }
        }
        return points;
    }

    private static readonly HashSet<string> DefaultIgnored = new(StringComparer.Ordinal) { "step", "global_step", "epoch", "time", "timestamp", "elapsed_s", "seed", "count" };
}

/// <summary>One test example: the true and predicted class (classification) or value (regression).</summary>
public sealed record PredictionPoint(string? TrueLabel, string? PredictedLabel, double? TrueValue, double? PredictedValue)
{
    public static PredictionPoint Class(string trueLabel, string predicted) => new(trueLabel, predicted, null, null);

    public static PredictionPoint Number(double trueValue, double predicted) => new(null, null, trueValue, predicted);
}

/// <summary>A MINE estimate with its confidence interval. Representation: "pooled" (Z_p) or "token" (Z). Not Estimable:
/// no trained critic beat the constant one on Rows rows, and the report says so instead of showing 0.</summary>
public sealed record MiEstimate(string Representation, double EstimateNats, double CiLow, double CiHigh, string Bound = "dv",
    bool Estimable = true, int Rows = 0, int HeldOutRows = 0);

/// <summary>How strongly an input token is associated with a predicted label (the MINE issue's token-level analysis).</summary>
public sealed record TokenAssociation(string Label, string Token, double Score);
