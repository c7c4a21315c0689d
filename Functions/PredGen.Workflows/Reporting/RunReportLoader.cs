using System.Globalization;
using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Reporting;

/// <summary>
/// Turns the orchestration's <see cref="RunSummary"/> (kept small for the orchestration history) into the full
/// <see cref="RunReport"/> by reading the run's artifacts: each job's metrics.jsonl (curves) and
/// test_predictions.jsonl, the MINE output (top tokens), and prepared/stats.json. A missing or unreadable artifact
/// leaves its section empty: a report is still written for a run whose jobs failed half-way.
/// </summary>
public static class RunReportLoader
{
    public static async Task<RunReport> LoadAsync(IArtifactStore store, RunSummary summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(summary);
        var data = summary.Dataset.Stats;
        if (data == null && await store.ReadTextAsync(BlobLayout.PreparedStats(summary.Task, summary.RunId), cancellationToken).ConfigureAwait(false) is { } statsJson)
        {
            try { data = DatasetStats.FromJson(statsJson); }
            catch (JsonException) { data = null; }
        }

        var jobs = new List<JobReport>();
        foreach (var job in summary.Baseline == null ? summary.Jobs : [.. summary.Jobs, summary.Baseline])
        {
            string? metrics = await store.ReadTextAsync(BlobLayout.JobMetrics(summary.Task, summary.RunId, job.JobId), cancellationToken).ConfigureAwait(false);
            string? predictions = await store.ReadTextAsync(BlobLayout.JobTestPredictions(summary.Task, summary.RunId, job.JobId), cancellationToken).ConfigureAwait(false);
            string? mine = await store.ReadTextAsync(BlobLayout.Mine(summary.Task, summary.RunId, job.JobId), cancellationToken).ConfigureAwait(false);
            var settings = new Dictionary<string, string>(StringComparer.Ordinal);
            if (job.ResumedFromStep > 0) settings["resumed_from_step"] = job.ResumedFromStep.ToString(CultureInfo.InvariantCulture);
            jobs.Add(new JobReport
            {
                JobId = job.JobId,
                Method = job.Method,
                Seed = job.Seed,
                Status = job.IsSucceeded ? JobStatus.Ok : JobStatus.Failed,
                Error = job.Error,
                TestMetrics = job.TestMetrics,
                Curve = metrics == null ? [] : CurvePoint.FromMetricsJsonl(metrics),
                Predictions = predictions == null ? [] : ParsePredictions(predictions),
                MutualInformation = summary.Mine.Where(m => m.JobId == job.JobId)
                    .Select(m => new MiEstimate(m.Representation, m.EstimateNats, m.CiLow, m.CiHigh, m.Bound, m.Estimable, m.Rows, m.HeldOutRows)).ToList(),
                TopTokens = mine == null ? [] : ParseTopTokens(mine),
                TrainSeconds = job.TrainSeconds > 0 ? job.TrainSeconds : null,
                Settings = settings,
            });
        }

        var runSettings = new List<KeyValuePair<string, string>>();
        void Add(string key, object? value)
        {
            if (value != null) runSettings.Add(new(key, Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""));
        }
        Add("dataset", summary.DatasetPath);
        Add("base model", summary.BaseModel);
        Add("methods", string.Join(", ", summary.Jobs.Select(j => j.Method).Distinct(StringComparer.OrdinalIgnoreCase)));
        Add("seeds", string.Join(", ", summary.Jobs.Select(j => j.Seed).Distinct().Order()));
        if (summary.Training is { } t)
        {
            Add("steps", t.Steps);
            Add("batch size", t.BatchSize);
            Add("learning rate", t.LearningRate);
            Add("eval every", t.EvalEvery);
            Add("checkpoint every", t.CheckpointEvery);
            Add("LoRA", t.UseLora);
            Add("max test rows", t.MaxTestRows);
            Add("MINE steps", t.MineSteps);
        }

        return new RunReport
        {
            Task = summary.Task,
            RunId = summary.RunId,
            Kind = summary.Kind,
            DatasetPath = summary.DatasetPath,
            StartedAt = summary.StartedAt,
            FinishedAt = summary.Timings.Count > 0 ? summary.StartedAt.AddSeconds(summary.Timings.Sum(x => x.Seconds)) : null,
            Jobs = jobs,
            Trials = summary.Trials,
            TrialsNote = summary.Trials.Count > 0 ? null
                : summary.Training?.LearningRate is double fixedRate ? string.Create(CultureInfo.InvariantCulture, $"No trials: the run fixed the learning rate at {fixedRate:G3}.")
                : null,
            Data = data,
            Champion = summary.Champion,
            Settings = runSettings,
            Timings = summary.Timings,
        };
    }

    /// <summary>test_predictions.jsonl: {"id", "label" | "value" (truth), "predicted_label" | "predicted_value"} per line.</summary>
    public static IReadOnlyList<PredictionPoint> ParsePredictions(string jsonl)
    {
        ArgumentNullException.ThrowIfNull(jsonl);
        var points = new List<PredictionPoint>();
        foreach (var line in jsonl.Split('\n'))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                if (r.TryGetProperty("predicted_value", out var pv) && pv.ValueKind == JsonValueKind.Number
                    && r.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Number)
                    points.Add(PredictionPoint.Number(v.GetDouble(), pv.GetDouble()));
                else if (r.TryGetProperty("predicted_label", out var pl) && r.TryGetProperty("label", out var l))
                    points.Add(PredictionPoint.Class(Text(l), Text(pl)));
            }
            catch (JsonException)
            {
                // a truncated last line of a killed job: the rest still plots
            }
        }
        return points;
    }

    /// <summary>The MINE output's token-level analysis: the worker's "token_analysis" (labels[].top_tokens[] with NPMI),
    /// or "top_tokens" as [{"label","token","score"}] or {"label": [{"token","score"}]}.</summary>
    public static IReadOnlyList<TokenAssociation> ParseTopTokens(string mineJson)
    {
        ArgumentNullException.ThrowIfNull(mineJson);
        var tokens = new List<TokenAssociation>();
        try
        {
            using var doc = JsonDocument.Parse(mineJson);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return tokens;
            // The worker's MINE output: token_analysis.labels[] = {label, top_tokens: [{token, npmi, ...}]} (NPMI as the score).
            if (doc.RootElement.TryGetProperty("token_analysis", out var analysis) && analysis.ValueKind == JsonValueKind.Object
                && analysis.TryGetProperty("labels", out var labels) && labels.ValueKind == JsonValueKind.Array)
            {
                foreach (var label in labels.EnumerateArray())
                    if (label.TryGetProperty("label", out var name) && label.TryGetProperty("top_tokens", out var list) && list.ValueKind == JsonValueKind.Array)
                        foreach (var e in list.EnumerateArray())
                            if (e.TryGetProperty("token", out var t) && (e.TryGetProperty("npmi", out var s) || e.TryGetProperty("score", out s)) && s.ValueKind == JsonValueKind.Number)
                                tokens.Add(new TokenAssociation(Text(name), Text(t), s.GetDouble()));
                return tokens;
            }
            if (!doc.RootElement.TryGetProperty("top_tokens", out var top)) return tokens;
            if (top.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in top.EnumerateArray())
                    if (e.TryGetProperty("label", out var l) && e.TryGetProperty("token", out var t) && e.TryGetProperty("score", out var s) && s.ValueKind == JsonValueKind.Number)
                        tokens.Add(new TokenAssociation(Text(l), Text(t), s.GetDouble()));
            }
            else if (top.ValueKind == JsonValueKind.Object)
            {
                foreach (var label in top.EnumerateObject())
                    if (label.Value.ValueKind == JsonValueKind.Array)
                        foreach (var e in label.Value.EnumerateArray())
                            if (e.TryGetProperty("token", out var t) && e.TryGetProperty("score", out var s) && s.ValueKind == JsonValueKind.Number)
                                tokens.Add(new TokenAssociation(label.Name, Text(t), s.GetDouble()));
            }
        }
        catch (JsonException)
        {
            return tokens;
        }
        return tokens;
    }

    private static string Text(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();
}
