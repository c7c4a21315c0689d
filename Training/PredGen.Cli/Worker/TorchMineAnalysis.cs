using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Training.Mine;

namespace PredGen.Cli.Worker;

/// <summary>The Mine job of the pipeline: <see cref="ModelMutualInformation"/> on a trained model; metrics per representation
/// ("token_estimate_nats", "token_ci_low", "token_ci_high", "token_estimable" (1 or 0), "token_rows",
/// "token_held_out_rows", "pooled_…", "pooling_loss_nats"), the full report as details. A representation that is not
/// estimable reports its estimate 0 and no interval metrics: a [0, 0] interval would read as a confident "no information".</summary>
public sealed class TorchMineAnalysis(MineOptions options) : IMineAnalysis
{
    public MineAnalysis Analyse(TrainedModel model, IReadOnlyList<PreparedRow> rows, IReadOnlyList<PreparedRow> trainingRows, int seed, int? maxSteps,
        CancellationToken cancellationToken)
    {
        var o = options with { Seed = seed, MaxSteps = maxSteps ?? options.MaxSteps };
        var report = ModelMutualInformation.Analyse(model, rows, o, cancellationToken: cancellationToken, trainingRows: trainingRows);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var r in report.Representations)
        {
            metrics[r.Representation + "_estimate_nats"] = r.EstimateNats;
            if (r.CiLow is double low) metrics[r.Representation + "_ci_low"] = low;
            if (r.CiHigh is double high) metrics[r.Representation + "_ci_high"] = high;
            metrics[r.Representation + "_estimable"] = r.Estimable ? 1 : 0;
            metrics[r.Representation + "_rows"] = r.Details.N;
            metrics[r.Representation + "_held_out_rows"] = r.Details.HeldOutSize;
        }
        if (report.PoolingLossNats is double loss) metrics["pooling_loss_nats"] = loss;
        if (report.TargetEntropyNats is double entropy) metrics["target_entropy_nats"] = entropy;
        return new MineAnalysis(metrics, report.Bound, JsonSerializer.Serialize(WithoutCurves(report), CliJson.Options));
    }

    /// <summary>The stored report keeps the first seed's curve of each estimate (for the report's plot) and nothing else heavy.</summary>
    internal static ModelMiReport WithoutCurves(ModelMiReport report, bool keepCurves = true) => report with
    {
        Representations = report.Representations.Select(r => r with { Details = keepCurves ? r.Details : r.Details with { Curve = [] } }).ToList(),
    };
}
