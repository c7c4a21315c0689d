using System.Threading.Channels;

namespace PredGen.Shared.Jobs;

/// <summary>
/// Jobs on this machine (the `predgen pipeline run` CLI): an in-memory queue drained by <c>workers</c> background
/// loops that call the handler (the same job handler the queue-fed worker host runs). A handler that throws is retried
/// up to <c>maxAttempts</c> times, like a redelivered queue message.
/// </summary>
public sealed class InProcessJobDispatcher : IJobDispatcher, IJobSource, IAsyncDisposable
{
    private readonly Channel<(JobMessage Job, int Attempt)> _queue = Channel.CreateUnbounded<(JobMessage, int)>();
    private readonly int _maxAttempts;

    public InProcessJobDispatcher(int maxAttempts = 3) => _maxAttempts = maxAttempts;

    public Task DispatchAsync(JobMessage job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return _queue.Writer.WriteAsync((job, 1), cancellationToken).AsTask();
    }

    /// <summary>Drains the queue with one loop (training on 2 cores gains nothing from running jobs side by side).</summary>
    public async Task RunAsync(Func<JobMessage, CancellationToken, Task> handler, CancellationToken cancellationToken)
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
