using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Azure.Storage.Queues.Specialized;

namespace PredGen.Shared.Jobs;

/// <summary>Jobs on an Azure Storage queue (Azurite locally). Messages are base64, as the Functions queue trigger expects.</summary>
public sealed class StorageQueueJobDispatcher(QueueClient queue) : IJobDispatcher
{
    private readonly QueueClient _queue = queue ?? throw new ArgumentNullException(nameof(queue));
    private bool _created;

    public async Task DispatchAsync(JobMessage job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_created)
        {
            await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            _created = true;
        }
        await _queue.SendMessageAsync(job.ToJson(), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// The worker side of a storage queue: one message at a time, hidden for <c>visibilityTimeout</c> and kept hidden
/// while its handler runs (the visibility is renewed at a third of the timeout; a renewal that fails transiently is
/// tried again before the message could reappear). A worker that dies stops renewing, so the message reappears and
/// another worker resumes the job from its last checkpoint. A worker that loses the message while it runs (a renewal
/// answered 404 or 400: the visibility expired during a stall and another worker took it, or it was deleted) cancels
/// its handler at once, so two workers never go on training the same job into the same checkpoint prefix. A handler
/// that throws leaves its message for redelivery and the worker takes the next one: one bad job never stops the
/// worker. A message delivered more than <c>maxDequeueCount</c> times goes to "{queue}-poison", as the Functions host
/// does, and <c>onPoisoned</c> is told (the worker marks the job failed, so its run does not wait for the timeout).
/// </summary>
public sealed partial class StorageQueueJobSource(QueueClient queue, TimeSpan visibilityTimeout, int maxDequeueCount = 5, TimeSpan? pollInterval = null,
    Func<JobMessage, string, CancellationToken, Task>? onPoisoned = null, Microsoft.Extensions.Logging.ILogger? logger = null) : IJobSource
{
    private readonly QueueClient _queue = queue ?? throw new ArgumentNullException(nameof(queue));
    private readonly TimeSpan _poll = pollInterval ?? TimeSpan.FromSeconds(1);

    /// <summary>Handler runs that ended because the message was lost (another worker may have it).</summary>
    public int LostMessages => Volatile.Read(ref _lost);

    /// <summary>Handler runs that threw; their messages are delivered again.</summary>
    public int FailedHandlers => Volatile.Read(ref _failed);

    private int _lost, _failed;

    public async Task RunAsync(Func<JobMessage, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        while (!cancellationToken.IsCancellationRequested)
        {
            QueueMessage? message;
            try
            {
                message = (await _queue.ReceiveMessageAsync(visibilityTimeout, cancellationToken).ConfigureAwait(false)).Value;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (Storage.TransientErrors.IsTransient(e))
            {
                message = null; // the queue is briefly unavailable: poll again
            }
            if (message == null)
            {
                try { await Task.Delay(_poll, cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            try
            {
                await HandleAsync(message, handler, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return; // stopping: the message reappears and the job resumes elsewhere
            }
#pragma warning disable CA1031 // a failed job (or queue call) must not stop the worker: the message is delivered again
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _failed);
                if (logger != null) LogHandlerFailed(logger, e, message.MessageId, message.DequeueCount);
            }
        }
    }

    private async Task HandleAsync(QueueMessage message, Func<JobMessage, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        string text = message.Body.ToString();
        bool parsed = TryParse(text, out var job);
        if (message.DequeueCount > maxDequeueCount || !parsed)
        {
            var poison = _queue.GetParentQueueServiceClient().GetQueueClient(_queue.Name + "-poison");
            await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await poison.SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
            await _queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
            if (parsed && onPoisoned != null)
                await onPoisoned(job!, $"delivered {message.DequeueCount} times (more than the {maxDequeueCount} allowed) and failed each time; the message is in queue '{poison.Name}'",
                    cancellationToken).ConfigureAwait(false);
            return;
        }

        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var renewing = new CancellationTokenSource();
        string popReceipt = message.PopReceipt;
        bool lost = false;
        var renewal = Task.Run(async () =>
        {
            var wait = visibilityTimeout / 3;
            while (!renewing.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(wait, renewing.Token).ConfigureAwait(false);
                    var updated = await _queue.UpdateMessageAsync(message.MessageId, popReceipt, visibilityTimeout: visibilityTimeout, cancellationToken: renewing.Token).ConfigureAwait(false);
                    Volatile.Write(ref popReceipt, updated.Value.PopReceipt);
                    wait = visibilityTimeout / 3;
                }
                catch (OperationCanceledException) when (renewing.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (Storage.TransientErrors.IsTransient(e))
                {
                    wait = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 50, visibilityTimeout.Ticks / 12)); // well before it reappears
                }
#pragma warning disable CA1031 // 404 / 400: the message is someone else's now (or gone)
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Volatile.Write(ref lost, true);
                    Interlocked.Increment(ref _lost);
                    if (logger != null) LogLost(logger, e, message.MessageId, job!.JobId, job.RunId);
                    await running.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }, CancellationToken.None);

        try
        {
            await handler(job!, running.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Volatile.Read(ref lost) && !cancellationToken.IsCancellationRequested)
        {
            return; // stopped because another worker has the job: nothing to delete, nothing to report
        }
        finally
        {
            await renewing.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
        }
        if (Volatile.Read(ref lost)) return;
        try
        {
            await _queue.DeleteMessageAsync(message.MessageId, Volatile.Read(ref popReceipt), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
            // already gone (redelivered and finished elsewhere; the result marker made that delivery a no-op)
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Error,
        Message = "Job message {MessageId} (delivery {DequeueCount}) failed; it will be delivered again and the worker goes on")]
    private static partial void LogHandlerFailed(Microsoft.Extensions.Logging.ILogger logger, Exception error, string messageId, long dequeueCount);

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning,
        Message = "Lost job message {MessageId} (job {JobId} of run {RunId}) while it ran: another worker may have it; stopped this run of the job")]
    private static partial void LogLost(Microsoft.Extensions.Logging.ILogger logger, Exception error, string messageId, string jobId, string runId);

    private static bool TryParse(string text, out JobMessage? job)
    {
        try
        {
            job = JobMessage.Parse(text);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            job = null;
            return false;
        }
        catch (FormatException)
        {
            job = null;
            return false;
        }
    }
}

/// <summary>Completions on the results storage queue that the Functions app's queue trigger reads.</summary>
public sealed class StorageQueueCompletionSink(QueueClient results) : IJobCompletionSink
{
    private readonly QueueClient _results = results ?? throw new ArgumentNullException(nameof(results));
    private bool _created;

    public async Task ReportAsync(JobCompletion completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completion);
        if (!_created)
        {
            await _results.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            _created = true;
        }
        await _results.SendMessageAsync(completion.ToJson(), cancellationToken).ConfigureAwait(false);
    }
}
