using Azure.Messaging.ServiceBus;

namespace PredGen.Shared.Jobs;

/// <summary>Jobs on a Service Bus queue (Azure): the queue's length scales the GPU Container Apps job (KEDA rule).
/// MessageId = JobId, so the queue's duplicate detection (when enabled) drops a re-dispatch of the same job.</summary>
public sealed class ServiceBusJobDispatcher(ServiceBusSender sender) : IJobDispatcher
{
    private readonly ServiceBusSender _sender = sender ?? throw new ArgumentNullException(nameof(sender));

    public Task DispatchAsync(JobMessage job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var message = new ServiceBusMessage(job.ToJson())
        {
            MessageId = job.RunId + "/" + job.JobId,
            ContentType = "application/json",
            Subject = job.Kind.ToString(),
        };
        return _sender.SendMessageAsync(message, cancellationToken);
    }
}

/// <summary>
/// The worker side on Service Bus: one message at a time, peek-lock with automatic lock renewal while the handler runs
/// (training takes long); completed only after the handler returns, abandoned when it throws (the processor goes on
/// with the next message), so a killed replica's job comes back after the lock expires and resumes from its
/// checkpoint; a replica whose lock is lost stops the job's handler. Service Bus dead-letters after MaxDeliveryCount.
/// <c>takeAnother</c>, asked after each completed job, stops the source (RunAsync returns) when false: a worker
/// execution near its replicaTimeout takes no job it could not finish (ExecutionBudget).
/// </summary>
public sealed class ServiceBusJobSource(ServiceBusClient client, string queueName, TimeSpan? maxLockRenewal = null, Func<bool>? takeAnother = null) : IJobSource
{
    public async Task RunAsync(Func<JobMessage, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        await using var processor = client.CreateProcessor(queueName, new ServiceBusProcessorOptions
        {
            AutoCompleteMessages = false,
            MaxConcurrentCalls = 1,
            PrefetchCount = 0,
            MaxAutoLockRenewalDuration = maxLockRenewal ?? TimeSpan.FromHours(6),
        });
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        processor.ProcessMessageAsync += async args =>
        {
            if (done.Task.IsCompleted)
            {
                // Received in the moment before the processor stopped: give it back untouched for the next execution.
                await args.AbandonMessageAsync(args.Message, cancellationToken: args.CancellationToken).ConfigureAwait(false);
                return;
            }
            JobMessage job;
            try
            {
                job = JobMessage.Parse(args.Message.Body.ToString());
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
            {
                await args.DeadLetterMessageAsync(args.Message, "unreadable", e.Message, args.CancellationToken).ConfigureAwait(false);
                return;
            }
            // A lost lock (the renewal failed: another replica may receive the job) cancels the handler as the
            // processor stopping does, so two replicas never go on training the same job into one checkpoint prefix.
            using var running = CancellationTokenSource.CreateLinkedTokenSource(args.CancellationToken);
            Task LockLost(MessageLockLostEventArgs _) => running.CancelAsync();
            args.MessageLockLostAsync += LockLost;
            try
            {
                await handler(job, running.Token).ConfigureAwait(false);
            }
            finally
            {
                args.MessageLockLostAsync -= LockLost;
            }
            if (running.IsCancellationRequested) return; // the lock is gone: the message is not ours to complete
            await args.CompleteMessageAsync(args.Message, args.CancellationToken).ConfigureAwait(false);
            if (takeAnother != null && !takeAnother()) done.TrySetResult();
        };
        processor.ProcessErrorAsync += _ => Task.CompletedTask; // the processor retries receive errors itself
        await processor.StartProcessingAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        await processor.StopProcessingAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
