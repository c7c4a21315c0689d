using System.Threading.Channels;

namespace PredGen.Shared.Jobs;

/// <summary>
/// Jobs on this machine (the `predgen pipeline run` CLI): an in-memory queue drained by <c>workers</c> background
/// loops that call the handler (the same job handler the queue-fed worker host runs). A handler that throws is retried
/// up to <c>maxAttempts</c> times, like a redelivered queue message; then the job is given up (the loop's
/// <c>giveUp</c> marks it failed, as the poison queue does for a queue worker) and the loop goes on with the others.
/// </summary>
public sealed class InProcessJobDispatcher : IJobDispatcher, IJobSource, IAsyncDisposable
{
    private readonly Channel<(JobMessage Job, int Attempt)> _queue = Channel.CreateUnbounded<(JobMessage, int)>();
    private readonly int _maxAttempts;

    public InProcessJobDispatcher(int maxAttempts = 3) => _maxAttempts = maxAttempts;

    public int MaxAttempts => _maxAttempts;

    public Task DispatchAsync(JobMessage job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return _queue.Writer.WriteAsync((job, 1), cancellationToken).AsTask();
    }

    public Task RunAsync(Func<JobMessage, CancellationToken, Task> handler, CancellationToken cancellationToken) => RunAsync(handler, null, cancellationToken);

    /// <summary>Drains the queue with one loop (training on 2 cores gains nothing from running jobs side by side).
    /// <paramref name="giveUp"/> is called with a job whose last attempt threw; whatever it throws is dropped.</summary>
    public async Task RunAsync(Func<JobMessage, CancellationToken, Task> handler, Func<JobMessage, Exception, CancellationToken, Task>? giveUp, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        try
        {
            await foreach (var (job, attempt) in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await handler(job, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested && attempt < _maxAttempts)
                {
                    await _queue.Writer.WriteAsync((job, attempt + 1), cancellationToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // the last attempt failed: the job is given up, the loop serves the remaining jobs
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    if (giveUp != null)
                    {
                        try { await giveUp(job, e, cancellationToken).ConfigureAwait(false); }
                        catch (Exception) when (!cancellationToken.IsCancellationRequested) { }
                    }
                }
#pragma warning restore CA1031
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    public ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Completion reported by calling a delegate (in-process: raise the orchestration event directly).</summary>
public sealed class CallbackCompletionSink(Func<JobCompletion, CancellationToken, Task> callback) : IJobCompletionSink
{
    public Task ReportAsync(JobCompletion completion, CancellationToken cancellationToken = default) => callback(completion, cancellationToken);
}
