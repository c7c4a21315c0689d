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
/// while its handler runs (the visibility is renewed at a third of the timeout). A worker that dies stops renewing, so
/// the message reappears and another worker resumes the job from its last checkpoint. A message delivered more than
/// <c>maxDequeueCount</c> times goes to "{queue}-poison", as the Functions host does.
/// </summary>
public sealed class StorageQueueJobSource(QueueClient queue, TimeSpan visibilityTimeout, int maxDequeueCount = 5, TimeSpan? pollInterval = null) : IJobSource
{
    private readonly QueueClient _queue = queue ?? throw new ArgumentNullException(nameof(queue));
    private readonly TimeSpan _poll = pollInterval ?? TimeSpan.FromSeconds(1);

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
            if (message == null)
            {
                try { await Task.Delay(_poll, cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            await HandleAsync(message, handler, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(QueueMessage message, Func<JobMessage, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        string text = message.Body.ToString();
        if (message.DequeueCount > maxDequeueCount || !TryParse(text, out var job))
        {
            var poison = _queue.GetParentQueueServiceClient().GetQueueClient(_queue.Name + "-poison");
            await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await poison.SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
            await _queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        string popReceipt = message.PopReceipt;
        var renewal = Task.Run(async () =>
        {
            while (!renewing.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(visibilityTimeout / 3, renewing.Token).ConfigureAwait(false);
                    var updated = await _queue.UpdateMessageAsync(message.MessageId, popReceipt, visibilityTimeout: visibilityTimeout, cancellationToken: renewing.Token).ConfigureAwait(false);
                    Volatile.Write(ref popReceipt, updated.Value.PopReceipt);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (RequestFailedException)
                {
                    return; // lost the message (visibility expired): another worker may take it; the result marker keeps that safe
                }
            }
        }, CancellationToken.None);

        try
        {
            await handler(job!, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await renewing.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
        }
        try
        {
            await _queue.DeleteMessageAsync(message.MessageId, Volatile.Read(ref popReceipt), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // already gone (redelivered and finished elsewhere)
        }
    }

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
