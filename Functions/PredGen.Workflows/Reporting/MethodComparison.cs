using System.Globalization;
using System.Text;
using PredGen.Shared.Data;

namespace PredGen.Workflows.Reporting;

/// <summary>Mean and sample standard deviation of one metric over a method's successful seeds.</summary>
public sealed record MetricAggregate(double Mean, double Std, int Count)
{
    public string Format(string decimals = "0.000") =>
        Count <= 1
            ? Mean.ToString(decimals, CultureInfo.InvariantCulture)
            : Mean.ToString(decimals, CultureInfo.InvariantCulture) + " ± " + Std.ToString(decimals, CultureInfo.InvariantCulture);

    public static MetricAggregate? Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return null;
        double mean = values.Average();
        double std = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return new MetricAggregate(mean, std, values.Count);
    }
}

/// <summary>One method's row of the comparison table.</summary>
public sealed record MethodRow(string Method, int OkJobs, int TotalJobs, IReadOnlyDictionary<string, MetricAggregate> Metrics)
{
    /// <summary>The classical baseline's row: the floor, shown last, never the best method or a champion.</summary>
    public bool IsBaseline => Retrain.Methods.IsBaseline(Method);

    public string DisplayName => IsBaseline ? "Baseline (classical floor)" : Method;
}

/// <summary>The method comparison table (mean ± std over seeds), shared by the report and `predgen pipeline run`.</summary>
public sealed record MethodComparison(IReadOnlyList<string> Metrics, IReadOnlyList<MethodRow> Rows, string PrimaryMetric)
{
    private static readonly string[] ClassificationOrder = ["accuracy", "macro_f1"];
    private static readonly string[] RegressionOrder = ["mse", "rmse", "mae", "pearson", "spearman", "r2"];
    private static readonly string[] MethodOrder = ["predictor", "generator", "predgen", "baseline"];
    // validation_score is what the learning-rate trials compare, not a test-split metric.
    private static readonly HashSet<string> NotMetrics = new(StringComparer.OrdinalIgnoreCase) { "count", "n", "rows", "steps", "seconds", Shared.Jobs.JobCompletion.ValidationScoreMetric };
    private static readonly HashSet<string> LowerIsBetter = new(StringComparer.OrdinalIgnoreCase) { "mse", "rmse", "mae", "loss", "test_loss", "mape" };

    /// <summary>The metric a champion is chosen by: accuracy (classification) or MSE (regression).</summary>
    public static string DefaultPrimaryMetric(TaskKind kind) => kind == TaskKind.Classification ? "accuracy" : "mse";

    public static bool IsHigherBetter(string metric) => !LowerIsBetter.Contains(metric);

    public static MethodComparison From(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var known = report.Kind == TaskKind.Classification ? ClassificationOrder : RegressionOrder;
        // "count" (test rows) and similar bookkeeping travel with the metrics but are not metrics.
        var present = report.Jobs.Where(j => j.Status == JobStatus.Ok).SelectMany(j => j.TestMetrics.Keys)
            .Where(k => !NotMetrics.Contains(k)).Distinct(StringComparer.Ordinal).ToList();
        var metrics = known.Where(present.Contains).Concat(present.Where(m => !known.Contains(m)).Order(StringComparer.Ordinal)).ToList();

        var rows = report.Jobs
            .GroupBy(j => j.Method, StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => MethodRank(g.Key)).ThenBy(g => g.Key, StringComparer.OrdinalIgnoreCase)
            .Select(g =>
            {
                var ok = g.Where(j => j.Status == JobStatus.Ok).ToList();
                var aggregates = new Dictionary<string, MetricAggregate>(StringComparer.Ordinal);
                foreach (var metric in metrics)
                {
                    var values = ok.Where(j => j.TestMetrics.TryGetValue(metric, out double v) && double.IsFinite(v)).Select(j => j.TestMetrics[metric]).ToList();
                    if (MetricAggregate.Of(values) is { } a) aggregates[metric] = a;
                }
                return new MethodRow(g.First().Method, ok.Count, g.Count(), aggregates);
            })
            .ToList();
        string primary = report.Champion?.Metric ?? DefaultPrimaryMetric(report.Kind);
        return new MethodComparison(metrics, rows, primary);
    }

    /// <summary>The LM method with the best mean of the primary metric (never the baseline), or null when none has it.</summary>
    public string? BestMethod()
    {
        bool higher = IsHigherBetter(PrimaryMetric);
        var candidates = Rows.Where(r => !r.IsBaseline && r.Metrics.ContainsKey(PrimaryMetric)).ToList();
        if (candidates.Count == 0) return null;
        return (higher ? candidates.MaxBy(r => r.Metrics[PrimaryMetric].Mean) : candidates.MinBy(r => r.Metrics[PrimaryMetric].Mean))!.Method;
    }

    public MethodRow? BaselineRow => Rows.FirstOrDefault(r => r.IsBaseline);

    /// <summary>Whether the best LM method beats the classical baseline on the primary metric, said plainly; null when
    /// the run has no scored baseline.</summary>
    public string? BaselineVerdict()
    {
        if (BaselineRow is not { } floor || !floor.Metrics.TryGetValue(PrimaryMetric, out var b)) return null;
        var ci = CultureInfo.InvariantCulture;
        string baseline = b.Mean.ToString("0.000", ci);
        if (BestMethod() is not { } best)
            return $"No LM method beats the classical baseline: none has a test {PrimaryMetric}; the baseline's is {baseline}.";
        double m = Rows.First(r => r.Method == best).Metrics[PrimaryMetric].Mean;
        bool beats = IsHigherBetter(PrimaryMetric) ? m > b.Mean : m < b.Mean;
        return beats
            ? $"The best LM method, {best}, beats the classical baseline: {PrimaryMetric} {m.ToString("0.000", ci)} against {baseline}."
            : $"No LM method beats the classical baseline (TF-IDF n-grams + a linear model): the best, {best}, has {PrimaryMetric} {m.ToString("0.000", ci)} against the baseline's {baseline}.";
    }

    public static int MethodRank(string method)
    {
        int i = Array.FindIndex(MethodOrder, m => string.Equals(m, method, StringComparison.OrdinalIgnoreCase));
        return i < 0 ? MethodOrder.Length : i;
    }

    /// <summary>A plain-text table for terminals (fixed-width columns).</summary>
    public string ToText()
    {
        var header = new List<string> { "method", "jobs ok" };
        header.AddRange(Metrics);
        var lines = new List<List<string>> { header };
        foreach (var row in Rows)
        {
            var cells = new List<string> { row.DisplayName, $"{row.OkJobs}/{row.TotalJobs}" };
            cells.AddRange(Metrics.Select(m => row.Metrics.TryGetValue(m, out var a) ? a.Format() : "-"));
            lines.Add(cells);
        }
        var widths = Enumerable.Range(0, header.Count).Select(c => lines.Max(l => l[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var line in lines)
            text.AppendLine(string.Join("  ", line.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        if (BaselineVerdict() is { } verdict) text.AppendLine(verdict);
        return text.ToString();
    }
}
