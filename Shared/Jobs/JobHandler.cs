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
/// so the message is redelivered and the job resumes. Transient storage errors (408, 429, 5xx, timeouts:
/// <see cref="TransientErrors"/>), in the work or around it, are retried with backoff (<see cref="TransientRetry"/>)
/// and never fail the job: when they outlast the retries the handler throws and the message is delivered again. Before the executor runs, the job's start marker
/// (BlobLayout.JobStarted) is written: the orchestration's job timeout counts from it, so a job that waits in the queue
/// (behind the trainer's parallelism) is not failed for waiting.
/// </summary>
public sealed partial class JobHandler(IArtifactStore store, IJobExecutor executor, IJobCompletionSink completions, ILogger<JobHandler>? logger = null, TransientRetry? retry = null)
{
    private readonly TransientRetry _retry = retry ?? TransientRetry.Default;

    public async Task<JobCompletion> HandleAsync(JobMessage job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        string markerPath = BlobLayout.JobResult(job.Task, job.RunId, job.JobId);
        var existing = await RetryingAsync(job, "read the result marker", ct => store.ReadTextAsync(markerPath, ct), cancellationToken).ConfigureAwait(false);
        if (existing != null)
        {
            var done = JobCompletion.Parse(existing);
            if (logger != null) LogAlreadyDone(logger, job.JobId, job.RunId, done.Outcome);
            await RetryingAsync(job, "report the result", ct => completions.ReportAsync(done, ct), cancellationToken).ConfigureAwait(false);
            return done;
        }

        await RetryingAsync(job, "write the start marker", ct => store.WriteTextAsync(BlobLayout.JobStarted(job.Task, job.RunId, job.JobId),
            JobStartedMarker.ToJson(DateTimeOffset.UtcNow), ct), cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        JobCompletion result;
        try
        {
            // A storage error the work met (downloading its data, uploading its model) is retried: the executor resumes
            // from its mirrored checkpoint. Still failing after the last attempt, it propagates: the message is
            // delivered again later instead of the job being marked failed for a fault of the storage.
            result = await RetryingAsync(job, "run the job", ct => executor.ExecuteAsync(job, ct), cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // any other failure of the work becomes a marked, reported job failure; the run goes on
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && !TransientErrors.IsTransient(e))
#pragma warning restore CA1031
        {
            if (logger != null) LogFailed(logger, e, job.JobId, job.RunId);
            result = Failed(job, e.GetType().Name + ": " + e.Message, clock.Elapsed.TotalSeconds);
        }

        result = await RecordAsync(job, result, cancellationToken).ConfigureAwait(false);
        await RetryingAsync(job, "report the result", ct => completions.ReportAsync(result, ct), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Marks a job failed for good and reports it, without running it: what a transport does with a job it has
    /// delivered too often (its handler kept throwing), so the orchestration is told now instead of at its job timeout.
    /// A job that already has a result keeps it.</summary>
    public async Task<JobCompletion> GiveUpAsync(JobMessage job, string error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var result = await RecordAsync(job, Failed(job, error), cancellationToken).ConfigureAwait(false);
        await RetryingAsync(job, "report the result", ct => completions.ReportAsync(result, ct), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Writes the result marker once (first writer wins, ETag condition); returns the job's result.</summary>
    private async Task<JobCompletion> RecordAsync(JobMessage job, JobCompletion result, CancellationToken cancellationToken)
    {
        string markerPath = BlobLayout.JobResult(job.Task, job.RunId, job.JobId);
        try
        {
            await RetryingAsync(job, "write the result marker",
                ct => store.WriteIfMatchAsync(markerPath, BinaryData.FromString(result.ToJson()), expectedETag: null, ct), cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (ArtifactConflictException)
        {
            // a concurrent delivery finished first (or a retried write had landed): the stored result is the job's result
            return JobCompletion.Parse((await RetryingAsync(job, "read the result marker", ct => store.ReadTextAsync(markerPath, ct), cancellationToken).ConfigureAwait(false))!);
        }
    }

    private Task<T> RetryingAsync<T>(JobMessage job, string step, Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken) =>
        _retry.RunAsync(operation, (e, attempt) => { if (logger != null) LogTransient(logger, e, job.JobId, job.RunId, step, attempt, _retry.Attempts); }, cancellationToken);

    private Task RetryingAsync(JobMessage job, string step, Func<CancellationToken, Task> operation, CancellationToken cancellationToken) =>
        _retry.RunAsync(operation, (e, attempt) => { if (logger != null) LogTransient(logger, e, job.JobId, job.RunId, step, attempt, _retry.Attempts); }, cancellationToken);

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} of run {RunId}: a transient storage error while trying to {Step}; trying again (attempt {Attempt} of {Attempts})")]
    private static partial void LogTransient(ILogger logger, Exception error, string jobId, string runId, string step, int attempt, int attempts);

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
