using System.Collections.Concurrent;
using System.Diagnostics;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using System.Text;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Serving;

/// <summary>
/// The storage-queue transport: receives up to 32 requests per poll with a visibility timeout, answers each on the
/// queue its request names, and deletes it. A message whose input is bad, or that was delivered more than
/// <see cref="ServingOptions.MaxDequeueCount"/> times, goes to the poison queue with its reason. A transient failure
/// leaves the message to reappear after a short backoff.
/// </summary>
public sealed partial class StorageQueuePredictionWorker(
    QueueServiceClient queues, ServingOptions options, PredictionProcessor processor, ServingModelSlot slot, ServingMetrics metrics,
    IArtifactStore store, PredictionRequestParser parser, ILogger<StorageQueuePredictionWorker> logger, TimeProvider? timeProvider = null) : BackgroundService
{
    /// <summary>UTF-8 bytes a poison message may take: the queue's 64 KiB message limit less room for the service's own
    /// escaping of XML characters.</summary>
    internal const int MaxPoisonMessageBytes = 56 * 1024;
    private const int PoisonPreviewCharacters = 2048;

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly QueueClient _requests = queues.GetQueueClient(options.RequestsQueue);
    private readonly QueueClient _poison = queues.GetQueueClient(options.PoisonQueueName);
    private readonly ConcurrentDictionary<string, QueueClient> _replyQueues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _handlers = new();
    private readonly ConcurrentDictionary<string, string> _lastFailure = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _requests.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        await _poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        await slot.WaitForModelAsync(stoppingToken).ConfigureAwait(false); // requests wait in the queue until a model is loaded
        LogListening(logger, options.RequestsQueue, options.Task, options.MaxBatchSize, options.MaxBatchWaitMs);

        using var capacity = new SemaphoreSlim(options.EffectiveMaxInFlight, options.EffectiveMaxInFlight);
        // Several receives in flight: one receiver alone leaves the batcher idle for a whole round trip between
        // receives, and a batch then holds only what one receive brought (issue 15: mean batch 3.8 of 8 at saturation).
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, options.Receivers))
            .Select(i => ReceiveLoopAsync(lead: i == 0, capacity, stoppingToken))).ConfigureAwait(false);
        await Task.WhenAll(_handlers.Keys).ConfigureAwait(false);
    }

    /// <summary>Receive calls made so far by this worker, and the most that were in flight at once.</summary>
    internal (long Calls, int MaxConcurrent) ReceiveCalls => (Interlocked.Read(ref _receiveCalls), Volatile.Read(ref _maxConcurrentReceives));

    private long _receiveCalls;
    private int _concurrentReceives, _maxConcurrentReceives;
    private TaskCompletionSource _backlog = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// One receiver: takes as many messages as free capacity allows (up to 32), hands each to its own handler, repeats.
    /// The lead receiver polls an empty queue with backoff; the others, once a receive comes back short of full, wait
    /// until some receive comes back full again, so an idle or lightly loaded worker polls like one receiver (storage
    /// transactions cost money, and on Azurite each costs the CPU the model needs).
    /// </summary>
    private async Task ReceiveLoopAsync(bool lead, SemaphoreSlim capacity, CancellationToken stoppingToken)
    {
        var visibility = TimeSpan.FromSeconds(options.VisibilityTimeoutSeconds);
        var idle = TimeSpan.FromMilliseconds(5);
        var maxIdle = TimeSpan.FromMilliseconds(Math.Max(5, options.MaxPollIntervalMs));
        // Each receiver's share of the in-flight limit (at most the queue's 32 per call): one receiver reserving 32
        // slots must not leave the others waiting for capacity with no receive in flight.
        int share = Math.Clamp(options.EffectiveMaxInFlight / Math.Max(1, options.Receivers), 1, 32);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await capacity.WaitAsync(stoppingToken).ConfigureAwait(false);
                int free = 1;
                while (free < share && capacity.Wait(0, CancellationToken.None)) free++;
                QueueMessage[] messages;
                long receiving = Stopwatch.GetTimestamp();
                int inFlight = Interlocked.Increment(ref _concurrentReceives);
                InterlockedMax(ref _maxConcurrentReceives, inFlight);
                Interlocked.Increment(ref _receiveCalls);
                try
                {
                    messages = (await _requests.ReceiveMessagesAsync(free, visibility, stoppingToken).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException e)
                {
                    LogReceiveFailed(logger, e, options.RequestsQueue);
                    messages = [];
                }
                catch
                {
                    capacity.Release(free);
                    throw;
                }
                finally
                {
                    Interlocked.Decrement(ref _concurrentReceives);
                }
                metrics.RecordReceive(messages.Length, Stopwatch.GetElapsedTime(receiving).TotalMilliseconds);
                if (messages.Length < free) capacity.Release(free - messages.Length);
                foreach (var message in messages)
                {
                    long received = Stopwatch.GetTimestamp();
                    // Tracked until its slot is released, so shutdown waits for it before the semaphore goes away.
                    var tracked = HandleAsync(message, stoppingToken, received).ContinueWith(_ => capacity.Release(), CancellationToken.None,
                        TaskContinuationOptions.None, TaskScheduler.Default);
                    _handlers.TryAdd(tracked, 0);
                    _ = tracked.ContinueWith(t => _handlers.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                }
                // A receive that came back full says messages are waiting: every receiver goes on. One that came back
                // short says the queue is drained: the lead polls on (backing off while it is empty), the others park
                // until a full receive again, so light load and an idle queue cost one receiver's calls.
                bool backlog = messages.Length > 0 && messages.Length == free;
                if (backlog)
                    Interlocked.Exchange(ref _backlog, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                if (messages.Length > 0) idle = TimeSpan.FromMilliseconds(5);
                if (backlog) continue;
                if (!lead)
                {
                    await Volatile.Read(ref _backlog).Task.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
                else if (messages.Length == 0)
                {
                    await Task.Delay(idle, _time, stoppingToken).ConfigureAwait(false);
                    idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, maxIdle.Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: let the handlers that hold messages finish (the host's shutdown timeout bounds this)
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    /// <summary>Handles one delivery; never throws (a failure leaves the message for redelivery).</summary>
    internal async Task HandleAsync(QueueMessage message, CancellationToken stoppingToken, long? receivedAt = null)
    {
        long started = receivedAt ?? Stopwatch.GetTimestamp();
        await using var lease = new MessageLease(_requests, message, TimeSpan.FromSeconds(Math.Max(1, options.VisibilityTimeoutSeconds)), _time);
        try
        {
            if (message.DequeueCount > options.MaxDequeueCount)
            {
                _lastFailure.TryRemove(message.MessageId, out string? last);
                string detail = $"delivered {message.DequeueCount} times, the limit is {options.MaxDequeueCount}" + (last == null ? "" : "; the last failure: " + last);
                // The client still hears why, when its request id and reply queue can be read.
                var readable = parser.Parse(message.Body);
                if (readable.RequestId != null)
                {
                    await TrySendReplyAsync(readable.ReplyTo, new PredictionReply
                    {
                        RequestId = readable.RequestId, Task = readable.Request?.Task, Error = RejectionReasons.MaxDeliveriesExceeded,
                        ErrorDetail = detail, ComputedAt = _time.GetUtcNow(),
                    }).ConfigureAwait(false);
                }
                await PoisonAsync(lease, RejectionReasons.MaxDeliveriesExceeded, detail, readable.RequestId).ConfigureAwait(false);
                return;
            }
            var addressed = parser.Parse(message.Body);
            if (addressed.ReplyTo != null && !IsAllowedReplyQueue(addressed.ReplyTo))
            {
                await PoisonAsync(lease, RejectionReasons.ReplyToNotAllowed,
                    $"reply_to '{Trim(addressed.ReplyTo)}' is not a reply queue: it must be a queue name starting with '{options.ReplyQueuePrefix}' (Serving:ReplyQueuePrefix)",
                    addressed.RequestId).ConfigureAwait(false);
                return;
            }
            // Kept hidden while it is being answered: a batch slower than the visibility timeout must not reappear
            // to another worker (a duplicate computation and a duplicate reply).
            lease.StartRenewing();
            var outcome = await processor.ProcessAsync(message.Body, stoppingToken, firstDelivery: message.DequeueCount == 1).ConfigureAwait(false);
            if (outcome.IsRejected)
            {
                if (outcome.Reply != null) await TrySendReplyAsync(outcome.ReplyTo, outcome.Reply).ConfigureAwait(false);
                await PoisonAsync(lease, outcome.RejectionReason!, outcome.RejectionDetail ?? "", outcome.Reply?.RequestId).ConfigureAwait(false);
                return;
            }
            long sending = Stopwatch.GetTimestamp();
            await TrySendReplyAsync(outcome.ReplyTo, outcome.Reply!).ConfigureAwait(false);
            long deleting = Stopwatch.GetTimestamp();
            metrics.RecordStage(ServingStage.ReplySend, Stopwatch.GetElapsedTime(sending, deleting).TotalMilliseconds);
            await lease.DeleteAsync().ConfigureAwait(false);
            metrics.RecordStageSince(ServingStage.Settle, deleting);
            _lastFailure.TryRemove(message.MessageId, out _);
            double handled = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            metrics.RecordStage(ServingStage.Handle, handled);
            metrics.RecordReply(outcome.FromCache, handled);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down: the message becomes visible again after its timeout and another worker answers it
        }
#pragma warning disable CA1031 // one message's failure must not stop the worker
        catch (Exception e)
#pragma warning restore CA1031
        {
            metrics.RecordFailure();
            LogHandlingFailed(logger, e, message.MessageId, message.DequeueCount);
            RememberFailure(message.MessageId, e);
            var delay = TimeSpan.FromSeconds(Math.Min(30, options.RetryBackoffSeconds * message.DequeueCount));
            await lease.TryReleaseAfterAsync(delay).ConfigureAwait(false);
        }
    }

    /// <summary>Why a message last failed here, for the poison record of its last delivery (bounded: a message another
    /// worker settles is forgotten when the map fills).</summary>
    private void RememberFailure(string messageId, Exception e)
    {
        if (_lastFailure.Count >= 4096) _lastFailure.Clear();
        _lastFailure[messageId] = $"{e.GetType().Name}: {e.Message}";
    }

    private async Task PoisonAsync(MessageLease lease, string reason, string detail, string? requestId)
    {
        var message = lease.Message;
        string original = message.Body.ToString();
        var poison = new PoisonMessage(reason, detail, requestId, message.DequeueCount, original, _time.GetUtcNow());
        string json = poison.ToJson();
        if (Encoding.UTF8.GetByteCount(json) > MaxPoisonMessageBytes)
        {
            // Too large to travel whole (a send would fail and the message would be retried forever): keep the body
            // in a blob first, then send its beginning and the blob's path.
            string path = BlobLayout.PoisonedBody(options.Task, message.MessageId);
            await store.WriteTextAsync(path, original, CancellationToken.None).ConfigureAwait(false);
            json = (poison with { Original = original[..PreviewLength(original)], OriginalPath = path }).ToJson();
        }
        await _poison.SendMessageAsync(json, CancellationToken.None).ConfigureAwait(false);
        await lease.DeleteAsync().ConfigureAwait(false);
        metrics.RecordRejection(reason);
        LogPoisoned(logger, message.MessageId, reason, detail);
    }

    private static int PreviewLength(string s)
    {
        int n = Math.Min(s.Length, PoisonPreviewCharacters);
        return n > 0 && n < s.Length && char.IsHighSurrogate(s[n - 1]) ? n - 1 : n; // never split a surrogate pair
    }

    internal bool IsAllowedReplyQueue(string name) =>
        IsQueueName(name) && (name == options.RepliesQueue || name.StartsWith(options.ReplyQueuePrefix, StringComparison.Ordinal));

    private static string Trim(string s) => s.Length <= 80 ? s : s[..80] + "…";

    /// <summary>Reply queue clients kept at most (each client's own reply queue: a bounded cache, not one per name ever seen).</summary>
    internal const int MaxCachedReplyQueues = 256;

    internal int CachedReplyQueues => _replyQueues.Count;

    internal async Task TrySendReplyAsync(string? replyTo, PredictionReply reply)
    {
        string queueName = replyTo != null && IsAllowedReplyQueue(replyTo) ? replyTo : options.RepliesQueue;
        if (!_replyQueues.TryGetValue(queueName, out var queue))
        {
            if (_replyQueues.Count >= MaxCachedReplyQueues) _replyQueues.Clear(); // clients are cheap to recreate
            queue = _replyQueues.GetOrAdd(queueName, queues.GetQueueClient);
        }
        try
        {
            await queue.SendMessageAsync(reply.ToJson(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // The client is gone (its reply queue with it); the reply stays in its result blob.
            LogReplyQueueMissing(logger, queueName, reply.RequestId);
        }
    }

    /// <summary>Storage queue names: 3-63 characters, lower-case letters, digits and single hyphens.</summary>
    public static bool IsQueueName(string? name) =>
        name is { Length: >= 3 and <= 63 } && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]) &&
        !name.Contains("--", StringComparison.Ordinal) && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on storage queue {Queue} for task {Task} (batch <= {MaxBatch}, wait <= {MaxWaitMs} ms)")]
    private static partial void LogListening(ILogger logger, string queue, string task, int maxBatch, int maxWaitMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Receiving from {Queue} failed; retrying")]
    private static partial void LogReceiveFailed(ILogger logger, Exception error, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} failed (delivery {DequeueCount}); it will be redelivered")]
    private static partial void LogHandlingFailed(ILogger logger, Exception error, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} sent to the poison queue: {Reason} ({Detail})")]
    private static partial void LogPoisoned(ILogger logger, string messageId, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reply queue {Queue} does not exist; the reply to {RequestId} stays in its result blob")]
    private static partial void LogReplyQueueMissing(ILogger logger, string queue, string requestId);
}
