using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Training.Mine;

namespace PredGen.Cli.Worker;

/// <summary>The Mine job of the pipeline: <see cref="ModelMutualInformation"/> on a trained model; metrics per representation
/// ("token_estimate_nats", "token_ci_low", "token_ci_high", "pooled_…", "pooling_loss_nats"), the full report as details.</summary>
public sealed class TorchMineAnalysis(MineOptions options) : IMineAnalysis
{
    public MineAnalysis Analyse(TrainedModel model, IReadOnlyList<PreparedRow> rows, int seed, int? maxSteps, CancellationToken cancellationToken)
    {
        var o = options with { Seed = seed, MaxSteps = maxSteps ?? options.MaxSteps };
        var report = ModelMutualInformation.Analyse(model, rows, o, cancellationToken: cancellationToken);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var r in report.Representations)
        {
            metrics[r.Representation + "_estimate_nats"] = r.EstimateNats;
            metrics[r.Representation + "_ci_low"] = r.CiLow;
            metrics[r.Representation + "_ci_high"] = r.CiHigh;
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
