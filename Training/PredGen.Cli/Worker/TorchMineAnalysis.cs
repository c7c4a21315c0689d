using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Training.Methods;
using PredGen.Training.Mine;

namespace PredGen.Cli.Worker;

/// <summary>The Mine job of the pipeline: <see cref="ModelMutualInformation"/> on a trained model; its estimates per
/// representation as <see cref="MineMetrics"/>, the full report as details. A representation that is not estimable
/// reports its estimate 0 and no interval: a [0, 0] interval would read as a confident "no information".</summary>
public sealed class TorchMineAnalysis(MineOptions options) : IMineAnalysis
{
    public MineAnalysis Analyse(TrainedModel model, IReadOnlyList<PreparedRow> rows, IReadOnlyList<PreparedRow> trainingRows, int seed, int? maxSteps,
        CancellationToken cancellationToken)
    {
        var o = options with { Seed = seed, MaxSteps = maxSteps ?? options.MaxSteps };
        var report = ModelMutualInformation.Analyse(model, rows, o, cancellationToken: cancellationToken, trainingRows: trainingRows);
        var metrics = new MineMetrics(
            [.. report.Representations.Select(r => new MineRepresentationResult(r.Representation, r.EstimateNats, r.CiLow, r.CiHigh, r.Estimable, r.Details.N, r.Details.HeldOutSize))],
            report.PoolingLossNats, report.TargetEntropyNats);
        return new MineAnalysis(metrics, report.Bound, JsonSerializer.Serialize(WithoutCurves(report), CliJson.Options));
    }

    /// <summary>The stored report keeps the first seed's curve of each estimate (for the report's plot) and nothing else heavy.</summary>
    internal static ModelMiReport WithoutCurves(ModelMiReport report, bool keepCurves = true) => report with
    {
        Representations = report.Representations.Select(r => r with { Details = keepCurves ? r.Details : r.Details with { Curve = [] } }).ToList(),
    };
}
