using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace PredGen.Shared.Predictions;

/// <summary>
/// Prediction client for the storage-queue transport: sends JSON requests to the worker's request queue with
/// <c>reply_to</c> naming a reply queue of this client, and polls that queue. With no reply queue given it creates a
/// private one and deletes it when disposed.
/// </summary>
public sealed class StorageQueuePredictionClient : IPredictionClient
{
    private readonly QueueClient _requests;
    private readonly QueueClient _replies;
    private readonly bool _ownsReplyQueue;
    private readonly TimeSpan _maxPollInterval;
    private readonly ReplyWaiters _waiters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private Task? _receiveLoop;

    public StorageQueuePredictionClient(QueueServiceClient service, string requestQueue, string? replyQueue = null, TimeSpan? maxPollInterval = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        _requests = service.GetQueueClient(requestQueue);
        _ownsReplyQueue = replyQueue == null;
        _replies = service.GetQueueClient(replyQueue ?? "prediction-replies-" + Guid.NewGuid().ToString("N")[..12]);
        _maxPollInterval = maxPollInterval ?? TimeSpan.FromMilliseconds(200);
    }

    public string ReplyQueueName => _replies.Name;

    public long UnmatchedReplies => _waiters.Unmatched;

    public async Task<PredictionReply> PredictAsync(PredictionRequest request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var addressed = request with { ReplyTo = _replies.Name, SentAt = request.SentAt ?? DateTimeOffset.UtcNow };
        var waiter = _waiters.Add(request.RequestId);
        try
        {
            await _requests.SendMessageAsync(addressed.ToJson(), cancellationToken).ConfigureAwait(false);
            return await ReplyWaiters.WaitAsync(waiter, request.RequestId, timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _waiters.Remove(request.RequestId);
        }
    }

    private async Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (_receiveLoop != null) return;
        await _startGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_receiveLoop != null) return;
            await _requests.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await _replies.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            _receiveLoop = Task.Run(() => ReceiveLoopAsync(_stop.Token), CancellationToken.None);
        }
        finally
        {
            _startGate.Release();
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken stop)
    {
        var idle = TimeSpan.FromMilliseconds(5);
        while (!stop.IsCancellationRequested)
        {
            QueueMessage[] batch;
            try
            {
                batch = (await _replies.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), stop).ConfigureAwait(false)).Value;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Azure.RequestFailedException)
            {
                batch = [];
            }
            if (batch.Length == 0)
            {
                // Storage queues have no push: poll, backing off while idle (shared/PLATFORM.md: nothing else to wait on).
                try { await Task.Delay(idle, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, _maxPollInterval.Ticks));
                continue;
            }
            idle = TimeSpan.FromMilliseconds(5);
            foreach (var message in batch)
            {
                PredictionReply? reply = null;
                try { reply = PredictionReply.Parse(message.Body.ToString()); }
                catch (System.Text.Json.JsonException) { /* not a reply: counted as unmatched below */ }
                _waiters.Deliver(reply?.RequestId, reply ?? new PredictionReply { RequestId = "" });
            }
            // The deletes of one receive together, not one round trip after another before the next receive.
            await Task.WhenAll(batch.Select(DeleteReplyAsync)).ConfigureAwait(false);
        }
    }

    private async Task DeleteReplyAsync(QueueMessage message)
    {
        try
        {
            await _replies.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException) { /* already gone */ }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_receiveLoop != null)
        {
            try { await _receiveLoop.ConfigureAwait(false); }
            catch (OperationCanceledException) { /* stopping */ }
        }
        _waiters.FailAll(new ObjectDisposedException(nameof(StorageQueuePredictionClient)));
        if (_ownsReplyQueue && _receiveLoop != null)
        {
            try { await _replies.DeleteIfExistsAsync().ConfigureAwait(false); }
            catch (Azure.RequestFailedException) { /* best effort */ }
        }
        _stop.Dispose();
        _startGate.Dispose();
    }
}
