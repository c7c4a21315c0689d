using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Storage;

namespace PredGen.Shared.Jobs;

/// <summary>Does the work of one job (train, MINE, evaluate). The real one lives in the `predgen` host (TorchSharp);
/// it must be resumable: artifacts and checkpoints under BlobLayout.Job, so a second delivery continues.</summary>
public interface IJobExecutor
{
    Task<JobCompletion> ExecuteAsync(JobMessage job, CancellationToken cancellationToken);
}

/// <summary>
/// The worker's handling of one delivery, the same for every transport: a job that already has its result marker
/// (BlobLayout.JobResult) is not run again, only re-reported (the first report may be what got lost); otherwise the
/// executor runs, its result is written once (first writer wins, ETag condition) and reported. An executor failure
/// becomes a Failed result (the orchestration marks the job and goes on); cancellation (the host stopping) does not,
/// so the message is redelivered and the job resumes. Before the executor runs, the job's start marker
/// (BlobLayout.JobStarted) is written: the orchestration's job timeout counts from it, so a job that waits in the queue
/// (behind the trainer's parallelism) is not failed for waiting.
/// </summary>
public sealed partial class JobHandler(IArtifactStore store, IJobExecutor executor, IJobCompletionSink completions, ILogger<JobHandler>? logger = null)
{
    public async Task<JobCompletion> HandleAsync(JobMessage job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        string markerPath = BlobLayout.JobResult(job.Task, job.RunId, job.JobId);
        var existing = await store.ReadTextAsync(markerPath, cancellationToken).ConfigureAwait(false);
        if (existing != null)
        {
            var done = JobCompletion.Parse(existing);
            if (logger != null) LogAlreadyDone(logger, job.JobId, job.RunId, done.Outcome);
            await completions.ReportAsync(done, cancellationToken).ConfigureAwait(false);
            return done;
        }

        await store.WriteTextAsync(BlobLayout.JobStarted(job.Task, job.RunId, job.JobId),
            JobStartedMarker.ToJson(DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        JobCompletion result;
        try
        {
            result = await executor.ExecuteAsync(job, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // any failure of the work becomes a marked, reported job failure; the run goes on
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            if (logger != null) LogFailed(logger, e, job.JobId, job.RunId);
            result = Failed(job, e.GetType().Name + ": " + e.Message, clock.Elapsed.TotalSeconds);
        }

        try
        {
            await store.WriteIfMatchAsync(markerPath, BinaryData.FromString(result.ToJson()), expectedETag: null, cancellationToken).ConfigureAwait(false);
        }
        catch (ArtifactConflictException)
        {
            // a concurrent delivery finished first: its result is the job's result
            result = JobCompletion.Parse((await store.ReadTextAsync(markerPath, cancellationToken).ConfigureAwait(false))!);
        }
        await completions.ReportAsync(result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public static JobCompletion Failed(JobMessage job, string error, double seconds = 0)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new JobCompletion
        {
            JobId = job.JobId, Kind = job.Kind, Task = job.Task, RunId = job.RunId, NotifyInstanceId = job.NotifyInstanceId,
            Outcome = JobOutcome.Failed, Error = error, Seconds = seconds,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} already has a result ({Outcome}); reporting it again, not re-running")]
    private static partial void LogAlreadyDone(ILogger logger, string jobId, string runId, JobOutcome outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} of run {RunId} failed")]
    private static partial void LogFailed(ILogger logger, Exception error, string jobId, string runId);
}

/// <summary>The content of BlobLayout.JobStarted: when a worker began the job (UTC).</summary>
public static class JobStartedMarker
{
    private sealed record Marker(DateTimeOffset StartedAt);

    private static readonly System.Text.Json.JsonSerializerOptions s_json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
    };

    public static string ToJson(DateTimeOffset startedAt) => System.Text.Json.JsonSerializer.Serialize(new Marker(startedAt), s_json);

    public static DateTimeOffset Parse(string json) =>
        (System.Text.Json.JsonSerializer.Deserialize<Marker>(json, s_json) ?? throw new FormatException("empty job start marker")).StartedAt;
}
