using PredGen.Shared.Data;

namespace PredGen.Training.Methods;

/// <summary>
/// Fine-tunes a base checkpoint with one of the three methods. Reads {dataDir}/train.jsonl, validation.jsonl and
/// test.jsonl (<see cref="PreparedRow"/>) and writes into outDir: metrics.json (test metrics and the settings used),
/// metrics.jsonl (one line per step and per validation), checkpoints/ (resumed from when present) and model/ (what
/// <see cref="TrainedModel.Load"/> reads).
/// </summary>
public static class Trainer
{
    public const string MetricsFileName = "metrics.json";
    public const string StepMetricsFileName = "metrics.jsonl";
    public const string CheckpointsDirectoryName = "checkpoints";
    public const string ModelDirectoryName = "model";

    public static TrainResult Train(TrainOptions options, string dataDir, string baseModelDir, string outDir,
        IProgress<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        throw new NotImplementedException("Trainer.Train lands with the backbone integration (issue 4).");
    }
}
