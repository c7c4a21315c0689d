using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;

namespace PredGen.Workflows.Local;

/// <summary>
/// The worker loop of a one-machine run: jobs from the in-process dispatcher go through the same
/// <see cref="JobHandler"/> as on a queue-fed worker, and each completion is raised straight on the waiting
/// orchestration (the role of the results queue and its trigger in Azure).
/// </summary>
public sealed class InProcessJobLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public InProcessJobLoop(InProcessJobDispatcher jobs, IArtifactStore store, IJobExecutor executor, IJobCompletionSink sink, ILoggerFactory? loggers = null,
        TransientRetry? retry = null)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var handler = new JobHandler(store, executor, sink, loggers?.CreateLogger<JobHandler>(), retry);
        // A job whose every attempt threw is marked failed and reported, so its run goes on now instead of waiting for
        // the job timeout (hours); the loop then serves the remaining jobs.
        _loop = Task.Run(() => jobs.RunAsync(async (job, ct) => await handler.HandleAsync(job, ct).ConfigureAwait(false),
            (job, error, ct) => handler.GiveUpAsync(job, $"gave up after {jobs.MaxAttempts} attempts, each failed; the last: {error.GetType().Name}: {error.Message}", ct),
            _stop.Token));
    }

    /// <summary>Completions raised as the orchestration event, as the results-queue trigger does in Azure.</summary>
    public static IJobCompletionSink RaisingEventsOn(DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new CallbackCompletionSink((c, ct) => client.RaiseEventAsync(c.NotifyInstanceId, JobEvents.Completed, c, ct));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopped while a job ran: it has no result marker and would resume on the next run
        }
        _stop.Dispose();
    }
}
