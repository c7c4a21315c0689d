using PredGen.Shared.Data;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Activities;

/// <summary>Validates, quarantines, splits and describes the uploaded file (DatasetPreparer); throws
/// <see cref="DatasetRejectedException"/> for data that cannot train a model (the run then fails, not retried).</summary>
public sealed class PrepareDatasetActivity(IArtifactStore store) : TaskActivity<PrepareDatasetInput, PreparedDataset>
{
    public override Task<PreparedDataset> RunAsync(TaskActivityContext context, PrepareDatasetInput input) => ExecuteAsync(input);

    public Task<PreparedDataset> ExecuteAsync(PrepareDatasetInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        return DatasetPreparer.PrepareAsync(store, input.Task, input.RunId, input.DatasetPath,
            new DatasetPreparationOptions { Kind = input.Kind }, cancellationToken);
    }
}
