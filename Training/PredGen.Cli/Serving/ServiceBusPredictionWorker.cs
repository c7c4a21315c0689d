using System.Diagnostics;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Predictions;

namespace PredGen.Cli.Serving;

/// <summary>How a received Service Bus message is settled.</summary>
public enum SettlementAction
{
    Complete,
    Abandon,
    DeadLetter,
}

public sealed record Settlement(SettlementAction Action, string? Reason = null, string? Description = null)
{
    public static Settlement Complete { get; } = new(SettlementAction.Complete);
    public static Settlement Abandon { get; } = new(SettlementAction.Abandon);
    public static Settlement DeadLetter(string reason, string description) => new(SettlementAction.DeadLetter, reason, description);
}

/// <summary>
/// Maps between Service Bus messages and the prediction contracts, and decides settlement. Pure, so it is tested with
/// the SDK's ServiceBusModelFactory types.
/// </summary>
public static class ServiceBusMessageMapping
{
    /// <summary>Where the reply to <paramref name="request"/> goes: its ReplyTo (else the worker's reply queue) and session.</summary>
    public static (string Queue, string? SessionId) ReplyAddress(ServiceBusReceivedMessage request, string defaultReplyQueue)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (string.IsNullOrEmpty(request.ReplyTo) ? defaultReplyQueue : request.ReplyTo, NullIfEmpty(request.ReplyToSessionId));
    }

    /// <summary>The reply message: CorrelationId = request id (the client matches on it), SessionId = the request's
    /// ReplyToSessionId (routes it to the waiting client's session), the reply JSON as body.</summary>
    public static ServiceBusMessage ToReplyMessage(PredictionReply reply, ServiceBusReceivedMessage request)
    {
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(request);
        var message = new ServiceBusMessage(BinaryData.FromString(reply.ToJson()))
        {
            ContentType = "application/json",
            CorrelationId = string.IsNullOrEmpty(reply.RequestId) ? request.MessageId : reply.RequestId,
            Subject = reply.Error == null ? "prediction" : "rejection",
        };
        string? session = NullIfEmpty(request.ReplyToSessionId);
        if (session != null) message.SessionId = session;
        return message;
    }

    /// <summary>Settlement of an answered or rejected request.</summary>
    public static Settlement Decide(ProcessOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.IsRejected ? Settlement.DeadLetter(outcome.RejectionReason!, Truncate(outcome.RejectionDetail ?? "")) : Settlement.Complete;
    }

    /// <summary>Settlement after a transient failure: abandon (redelivered at once) until the last allowed delivery,
    /// then dead-letter, so a message that always fails cannot circle for ever.</summary>
    public static Settlement DecideAfterFailure(Exception error, int deliveryCount, int maxDeliveries)
    {
        ArgumentNullException.ThrowIfNull(error);
        return deliveryCount >= maxDeliveries
            ? Settlement.DeadLetter(RejectionReasons.MaxDeliveriesExceeded, Truncate($"delivery {deliveryCount} of {maxDeliveries} failed: {error.GetType().Name}: {error.Message}"))
            : Settlement.Abandon;
    }

    // Service Bus limits the dead-letter description (a 4 KB application-property budget); keep it short.
    private static string Truncate(string s) => s.Length <= 1024 ? s : s[..1024];

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

/// <summary>Sends reply messages (one sender per reply queue); a seam so the handler is testable without a namespace.</summary>
public interface IReplySender
{
    Task SendAsync(string queue, ServiceBusMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// Handles one Service Bus delivery (peek-lock): process, send the reply into the client's session, then settle:
/// complete when answered, dead-letter with a reason when the input is bad or the last delivery failed, abandon
/// otherwise.
/// </summary>
public sealed partial class ServiceBusRequestHandler(
    PredictionProcessor processor, IReplySender replies, ServingOptions options, ServingMetrics metrics, ILogger<ServiceBusRequestHandler> logger)
{
    public async Task<Settlement> HandleAsync(ProcessMessageEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var message = args.Message;
        long started = Stopwatch.GetTimestamp();
        Settlement settlement;
        try
        {
            var outcome = await processor.ProcessAsync(message.Body, args.CancellationToken, firstDelivery: message.DeliveryCount == 1).ConfigureAwait(false);
            if (outcome.Reply != null)
            {
                long sending = Stopwatch.GetTimestamp();
                var (queue, _) = ServiceBusMessageMapping.ReplyAddress(message, options.RepliesQueue);
                await replies.SendAsync(queue, ServiceBusMessageMapping.ToReplyMessage(outcome.Reply, message), args.CancellationToken).ConfigureAwait(false);
                if (!outcome.IsRejected) metrics.RecordStageSince(ServingStage.ReplySend, sending);
            }
            settlement = ServiceBusMessageMapping.Decide(outcome);
            if (settlement.Action == SettlementAction.Complete) metrics.RecordReply(outcome.FromCache, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
#pragma warning disable CA1031 // every failure becomes a settlement decision; the processor keeps running
        catch (Exception e)
#pragma warning restore CA1031
        {
            metrics.RecordFailure();
            LogFailed(logger, e, message.MessageId, message.DeliveryCount);
            settlement = ServiceBusMessageMapping.DecideAfterFailure(e, message.DeliveryCount, options.MaxDequeueCount);
        }
        switch (settlement.Action)
        {
            case SettlementAction.Complete:
                long completing = Stopwatch.GetTimestamp();
                await args.CompleteMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
                metrics.RecordStageSince(ServingStage.Settle, completing);
                metrics.RecordStageSince(ServingStage.Handle, started);
                break;
            case SettlementAction.Abandon:
                await args.AbandonMessageAsync(message, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                break;
            case SettlementAction.DeadLetter:
                metrics.RecordRejection(settlement.Reason!);
                LogDeadLettered(logger, message.MessageId, settlement.Reason!, settlement.Description ?? "");
                await args.DeadLetterMessageAsync(message, settlement.Reason!, settlement.Description, CancellationToken.None).ConfigureAwait(false);
                break;
        }
        return settlement;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} failed (delivery {DeliveryCount})")]
    private static partial void LogFailed(ILogger logger, Exception error, string messageId, int deliveryCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} dead-lettered: {Reason} ({Description})")]
    private static partial void LogDeadLettered(ILogger logger, string messageId, string reason, string description);
}

/// <summary>Reply senders cached per queue on one ServiceBusClient.</summary>
public sealed class ServiceBusReplySender(ServiceBusClient client) : IReplySender, IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ServiceBusSender> _senders = new(StringComparer.Ordinal);

    public Task SendAsync(string queue, ServiceBusMessage message, CancellationToken cancellationToken) =>
        _senders.GetOrAdd(queue, client.CreateSender).SendMessageAsync(message, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var sender in _senders.Values) await sender.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The Service Bus transport: a ServiceBusProcessor in peek-lock mode with manual settlement.</summary>
public sealed partial class ServiceBusPredictionWorker(
    ServiceBusClient client, ServiceBusRequestHandler handler, ServingOptions options, ServingModelSlot slot,
    ILogger<ServiceBusPredictionWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await slot.WaitForModelAsync(stoppingToken).ConfigureAwait(false);
        var processor = client.CreateProcessor(options.RequestsQueue, new ServiceBusProcessorOptions
        {
            ReceiveMode = ServiceBusReceiveMode.PeekLock,
            AutoCompleteMessages = false,
            MaxConcurrentCalls = options.EffectiveMaxInFlight,
            // As many messages buffered locally as may be in flight: each concurrent call then takes its message from
            // the prefetch buffer instead of a round trip of its own, so batches fill as they do on storage queues
            // with several receivers (issue 15).
            PrefetchCount = options.EffectiveMaxInFlight,
            // The lock is renewed while a request waits for its batch, up to the batch timeout (then it fails and is redelivered).
            MaxAutoLockRenewalDuration = TimeSpan.FromSeconds(Math.Max(300, options.BatchTimeoutSeconds + 60)),
        });
        await using (processor.ConfigureAwait(false))
        {
            processor.ProcessMessageAsync += async args => await handler.HandleAsync(args).ConfigureAwait(false);
            processor.ProcessErrorAsync += args =>
            {
                LogProcessorError(logger, args.Exception, args.ErrorSource.ToString(), args.EntityPath);
                return Task.CompletedTask;
            };
            await processor.StartProcessingAsync(stoppingToken).ConfigureAwait(false);
            LogListening(logger, options.RequestsQueue, options.Task);
            try
            {
                await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
            await processor.StopProcessingAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on Service Bus queue {Queue} for task {Task}")]
    private static partial void LogListening(ILogger logger, string queue, string task);

    [LoggerMessage(Level = LogLevel.Error, Message = "Service Bus processor error ({Source}) on {Entity}")]
    private static partial void LogProcessorError(ILogger logger, Exception error, string source, string entity);
}
