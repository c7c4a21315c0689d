using PredGen.Shared.Data;

namespace PredGen.Workflows.Reporting;

/// <summary>A confusion matrix of one job on the test split: Counts[true, predicted] over <see cref="Labels"/>.</summary>
internal sealed record ConfusionMatrix(string Method, int Seed, IReadOnlyList<string> Labels, int[,] Counts, int Total, int Correct)
{
    public static ConfusionMatrix? Of(JobReport job, IReadOnlyList<string>? knownLabels, int maxLabels = 20)
    {
        var points = job.Predictions.Where(p => p.TrueLabel != null && p.PredictedLabel != null).ToList();
        if (points.Count == 0) return null;
        // The data's label set first (stable order), then anything the model produced outside it; the most frequent if too many.
        var frequency = points.GroupBy(p => p.TrueLabel!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var known = knownLabels ?? [];
        var labels = known.Concat(points.Select(p => p.TrueLabel!).Concat(points.Select(p => p.PredictedLabel!))
            .Where(l => !known.Contains(l)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)).ToList();
        if (labels.Count > maxLabels) labels = labels.OrderByDescending(l => frequency.GetValueOrDefault(l)).Take(maxLabels).ToList();
        var index = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        var counts = new int[labels.Count, labels.Count];
        foreach (var p in points)
            if (index.TryGetValue(p.TrueLabel!, out int t) && index.TryGetValue(p.PredictedLabel!, out int q)) counts[t, q]++;
        int correct = points.Count(p => p.TrueLabel == p.PredictedLabel);
        return new ConfusionMatrix(job.Method, job.Seed, labels, counts, points.Count, correct);
    }
}

/// <summary>What both writers show, computed once: the comparison, the best seed per method, the plots.</summary>
internal sealed class ReportContent
{
    public required RunReport Report { get; init; }
    public required MethodComparison Comparison { get; init; }
    public required IReadOnlyList<string> Methods { get; init; }
    /// <summary>Per method, its best successful job by the primary metric (the one shown in scatter / confusion).</summary>
    public required IReadOnlyDictionary<string, JobReport> BestJobs { get; init; }
    public required IReadOnlyList<ReportImage> CurveImages { get; init; }
    public ReportImage? MiImage { get; init; }
    public required IReadOnlyList<ReportImage> ScatterImages { get; init; }
    public required IReadOnlyList<ConfusionMatrix> ConfusionMatrices { get; init; }
    public ReportImage? DataImage { get; init; }
    /// <summary>Entropy of the label distribution (nats): the ceiling of I(Y; Z) for a discrete target.</summary>
    public double? LabelEntropy { get; init; }

    public IReadOnlyList<ReportImage> Images =>
        [.. CurveImages, .. MiImage == null ? Array.Empty<ReportImage>() : [MiImage], .. ScatterImages, .. DataImage == null ? Array.Empty<ReportImage>() : [DataImage]];

    public static ReportContent From(RunReport report)
    {
        var comparison = MethodComparison.From(report);
        var methods = comparison.Rows.Select(r => r.Method).ToList();
        bool higher = MethodComparison.IsHigherBetter(comparison.PrimaryMetric);
        var best = new Dictionary<string, JobReport>(StringComparer.OrdinalIgnoreCase);
        foreach (var group in report.Jobs.Where(j => j.Status == JobStatus.Ok).GroupBy(j => j.Method, StringComparer.OrdinalIgnoreCase))
        {
            var scored = group.Where(j => j.TestMetrics.ContainsKey(comparison.PrimaryMetric)).ToList();
            best[group.Key] = scored.Count == 0 ? group.OrderBy(j => j.Seed).First()
                : higher ? scored.MaxBy(j => j.TestMetrics[comparison.PrimaryMetric])! : scored.MinBy(j => j.TestMetrics[comparison.PrimaryMetric])!;
        }

        double? entropy = null;
        if (report.Kind == TaskKind.Classification && report.Data?.Splits is { Count: > 0 } splits)
        {
            var totals = splits.Values.Where(s => s.Classes != null).SelectMany(s => s.Classes!)
                .GroupBy(kv => kv.Key, StringComparer.Ordinal).Select(g => (double)g.Sum(kv => kv.Value)).Where(c => c > 0).ToList();
            double n = totals.Sum();
            if (n > 0) entropy = -totals.Sum(c => c / n * Math.Log(c / n));
        }

        var okJobs = report.Jobs.Where(j => j.Curve.Count > 0).ToList();
        return new ReportContent
        {
            Report = report,
            Comparison = comparison,
            Methods = methods,
            BestJobs = best,
            CurveImages = ReportCharts.CurveMetrics(okJobs).Select(m => ReportCharts.Curve(m, okJobs, methods)).ToList(),
            MiImage = ReportCharts.MutualInformation(report.Jobs, methods, entropy),
            ScatterImages = report.Kind == TaskKind.Regression
                ? methods.Where(best.ContainsKey).Select(m => ReportCharts.Scatter(m, best[m], methods)).OfType<ReportImage>().ToList()
                : [],
            ConfusionMatrices = report.Kind == TaskKind.Classification
                ? methods.Where(best.ContainsKey).Select(m => ConfusionMatrix.Of(best[m], report.Data?.Labels)).OfType<ConfusionMatrix>().ToList()
                : [],
            DataImage = report.Data == null ? null : ReportCharts.Splits(report.Data),
            LabelEntropy = entropy,
        };
    }
}
