using Azure.Messaging.ServiceBus;

namespace PredGen.Shared.Predictions;

/// <summary>
/// Prediction client for the Service Bus transport: each request is a message with MessageId = request id, ReplyTo =
/// the (session-enabled) reply queue and ReplyToSessionId = this client's session; the worker answers into that
/// session with CorrelationId = request id, so many clients share one reply queue and each sees only its replies.
/// </summary>
public sealed class ServiceBusPredictionClient : IPredictionClient
{
    private readonly ServiceBusClient _client;
    private readonly ServiceBusSender _sender;
    private readonly string _replyQueue;
    private readonly ReplyWaiters _waiters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private ServiceBusSessionReceiver? _receiver;
    private Task? _receiveLoop;

    public ServiceBusPredictionClient(ServiceBusClient client, string requestQueue, string replyQueue, string? sessionId = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _sender = client.CreateSender(requestQueue);
        _replyQueue = replyQueue;
        SessionId = sessionId ?? Guid.NewGuid().ToString("N");
    }

    public string SessionId { get; }

    public long UnmatchedReplies => _waiters.Unmatched;

    /// <summary>The message a request travels in (also what the worker's mapping reads back).</summary>
    public static ServiceBusMessage ToMessage(PredictionRequest request, string replyQueue, string replySessionId)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ServiceBusMessage(BinaryData.FromString(request.ToJson()))
        {
            MessageId = request.RequestId,
            ContentType = "application/json",
            Subject = request.Task,
            ReplyTo = replyQueue,
            ReplyToSessionId = replySessionId,
        };
    }

    public async Task<PredictionReply> PredictAsync(PredictionRequest request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var waiter = _waiters.Add(request.RequestId);
        try
        {
            await _sender.SendMessageAsync(ToMessage(request with { SentAt = request.SentAt ?? DateTimeOffset.UtcNow }, _replyQueue, SessionId), cancellationToken).ConfigureAwait(false);
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
            _receiver = await _client.AcceptSessionAsync(_replyQueue, SessionId, cancellationToken: cancellationToken).ConfigureAwait(false);
            _receiveLoop = Task.Run(() => ReceiveLoopAsync(_receiver, _stop.Token), CancellationToken.None);
        }
        finally
        {
            _startGate.Release();
        }
    }

    private async Task ReceiveLoopAsync(ServiceBusSessionReceiver receiver, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            IReadOnlyList<ServiceBusReceivedMessage> messages;
            try
            {
                messages = await receiver.ReceiveMessagesAsync(64, TimeSpan.FromSeconds(5), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            foreach (var message in messages)
            {
                PredictionReply? reply = null;
                try { reply = PredictionReply.Parse(message.Body.ToString()); }
                catch (System.Text.Json.JsonException) { /* counted as unmatched */ }
                _waiters.Deliver(message.CorrelationId ?? reply?.RequestId, reply ?? new PredictionReply { RequestId = "" });
                await receiver.CompleteMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_receiveLoop != null)
        {
            try { await _receiveLoop.ConfigureAwait(false); }
            catch (OperationCanceledException) { /* stopping */ }
        }
        _waiters.FailAll(new ObjectDisposedException(nameof(ServiceBusPredictionClient)));
        if (_receiver != null) await _receiver.DisposeAsync().ConfigureAwait(false);
        await _sender.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _startGate.Dispose();
    }
}
