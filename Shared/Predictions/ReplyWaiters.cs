using System.Collections.Concurrent;

namespace PredGen.Shared.Predictions;

/// <summary>The requests a client is waiting on, keyed by request id; the one place replies are matched.</summary>
internal sealed class ReplyWaiters
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<PredictionReply>> _pending = new(StringComparer.Ordinal);
    private long _unmatched;

    public long Unmatched => Interlocked.Read(ref _unmatched);

    public int Count => _pending.Count;

    public TaskCompletionSource<PredictionReply> Add(string requestId)
    {
        var waiter = new TaskCompletionSource<PredictionReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.TryAdd(requestId, waiter))
            throw new InvalidOperationException($"request '{requestId}' is already waiting for a reply");
        return waiter;
    }

    public void Remove(string requestId) => _pending.TryRemove(requestId, out _);

    /// <summary>Hands a reply to its waiter; counts it as unmatched when nobody waits for it.</summary>
    public void Deliver(string? requestId, PredictionReply reply)
    {
        if (requestId != null && _pending.TryRemove(requestId, out var waiter)) waiter.TrySetResult(reply);
        else Interlocked.Increment(ref _unmatched);
    }

    public void FailAll(Exception error)
    {
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var waiter)) waiter.TrySetException(error);
    }

    public static async Task<PredictionReply> WaitAsync(TaskCompletionSource<PredictionReply> waiter, string requestId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await waiter.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no reply to request '{requestId}' within {timeout.TotalSeconds:F0} s");
        }
    }
}
