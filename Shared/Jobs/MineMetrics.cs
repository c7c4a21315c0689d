namespace PredGen.Shared.Jobs;

/// <summary>One representation's MINE estimate (token: the states at the answer's tokens; pooled: the prompt's pooled
/// state). A representation no seed could estimate has <see cref="Estimable"/> false, its estimate 0 and no interval:
/// a [0, 0] interval would read as a confident "no information".</summary>
public sealed record MineRepresentationResult(string Representation, double EstimateNats, double? CiLow, double? CiHigh, bool Estimable, int Rows, int HeldOutRows);

/// <summary>
/// What a Mine job reports, and the one owner of how it travels in <see cref="JobCompletion.Metrics"/>: per
/// representation "{representation}_estimate_nats", "_ci_low", "_ci_high", "_estimable" (1 or 0), "_rows",
/// "_held_out_rows", plus "pooling_loss_nats" and "target_entropy_nats". The keys stay readable in result.json and
/// summaries; the worker writes them and the workflow reads them only through this record.
/// </summary>
public sealed record MineMetrics(IReadOnlyList<MineRepresentationResult> Estimates, double? PoolingLossNats = null, double? TargetEntropyNats = null)
{
    /// <summary>The representations a Mine job estimates, in report order.</summary>
    public static IReadOnlyList<string> Representations { get; } = ["token", "pooled"];

    public const string PoolingLossNatsKey = "pooling_loss_nats";
    public const string TargetEntropyNatsKey = "target_entropy_nats";

    private const string Estimate = "_estimate_nats", CiLowKey = "_ci_low", CiHighKey = "_ci_high", EstimableKey = "_estimable", RowsKey = "_rows", HeldOutRowsKey = "_held_out_rows";

    public Dictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var e in Estimates)
        {
            metrics[e.Representation + Estimate] = e.EstimateNats;
            if (e.CiLow is double low) metrics[e.Representation + CiLowKey] = low;
            if (e.CiHigh is double high) metrics[e.Representation + CiHighKey] = high;
            metrics[e.Representation + EstimableKey] = e.Estimable ? 1 : 0;
            metrics[e.Representation + RowsKey] = e.Rows;
            metrics[e.Representation + HeldOutRowsKey] = e.HeldOutRows;
        }
        if (PoolingLossNats is double loss) metrics[PoolingLossNatsKey] = loss;
        if (TargetEntropyNats is double entropy) metrics[TargetEntropyNatsKey] = entropy;
        return metrics;
    }

    /// <summary>Reads what <see cref="ToMetrics"/> wrote: one estimate per representation that has "_estimate_nats"
    /// (a missing "_estimable" reads as estimable, as results written before it existed).</summary>
    public static MineMetrics FromMetrics(IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var estimates = new List<MineRepresentationResult>();
        foreach (var r in Representations)
        {
            if (!metrics.TryGetValue(r + Estimate, out double estimate)) continue;
            estimates.Add(new MineRepresentationResult(r, estimate,
                metrics.TryGetValue(r + CiLowKey, out double low) ? low : null,
                metrics.TryGetValue(r + CiHighKey, out double high) ? high : null,
                Estimable: metrics.GetValueOrDefault(r + EstimableKey, 1) > 0,
                Rows: (int)metrics.GetValueOrDefault(r + RowsKey, 0),
                HeldOutRows: (int)metrics.GetValueOrDefault(r + HeldOutRowsKey, 0)));
        }
        return new MineMetrics(estimates,
            metrics.TryGetValue(PoolingLossNatsKey, out double loss) ? loss : null,
            metrics.TryGetValue(TargetEntropyNatsKey, out double entropy) ? entropy : null);
    }
}
