using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Activities;

/// <summary>Writes the job spec (BlobLayout.JobSpec) and sends the job. A job that already has a result (the
/// orchestration was replayed from scratch, or the job ran before) is not sent again: its result is returned.</summary>
public sealed class DispatchJobActivity(IArtifactStore store, IJobDispatcher dispatcher) : TaskActivity<JobMessage, JobCompletion?>
{
    public override Task<JobCompletion?> RunAsync(TaskActivityContext context, JobMessage input) => ExecuteAsync(input);

    public async Task<JobCompletion?> ExecuteAsync(JobMessage input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var existing = await store.ReadTextAsync(BlobLayout.JobResult(input.Task, input.RunId, input.JobId), cancellationToken).ConfigureAwait(false);
        if (existing != null) return JobCompletion.Parse(existing);
        await store.WriteTextAsync(BlobLayout.JobSpec(input.Task, input.RunId, input.JobId), input.ToJson(), cancellationToken).ConfigureAwait(false);
        await dispatcher.DispatchAsync(input, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>When a worker started the job (its start marker), or null while it waits in the queue.</summary>
public sealed class GetJobStartActivity(IArtifactStore store) : TaskActivity<JobReference, DateTimeOffset?>
{
    public override Task<DateTimeOffset?> RunAsync(TaskActivityContext context, JobReference input) => ExecuteAsync(input);

    public async Task<DateTimeOffset?> ExecuteAsync(JobReference input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var text = await store.ReadTextAsync(input.StartedPath, cancellationToken).ConfigureAwait(false);
        return text == null ? null : JobStartedMarker.Parse(text);
    }
}

/// <summary>The status-poll fallback: the job's result marker, or null while it runs.</summary>
public sealed class GetJobStatusActivity(IArtifactStore store) : TaskActivity<JobReference, JobCompletion?>
{
    public override Task<JobCompletion?> RunAsync(TaskActivityContext context, JobReference input) => ExecuteAsync(input);

    public async Task<JobCompletion?> ExecuteAsync(JobReference input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var text = await store.ReadTextAsync(input.ResultPath, cancellationToken).ConfigureAwait(false);
        return text == null ? null : JobCompletion.Parse(text);
    }
}
