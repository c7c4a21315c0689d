using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Jobs;

namespace PredGen.Functions;

/// <summary>
/// Workers report on the job-results storage queue; this raises the job's completion event on the orchestration
/// that waits for it. A completion for an instance that is gone or finished is dropped (the status poll, or the
/// orchestration's end, already settled it): it must not poison the queue.
/// </summary>
public sealed partial class JobResultsTrigger(ILogger<JobResultsTrigger> logger)
{
    [Function(nameof(JobResultReceived))]
    public async Task<bool> JobResultReceived(
        [QueueTrigger(JobSettings.DefaultResultsQueue, Connection = DatasetTrigger.Connection)] string message,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var completion = JobCompletion.Parse(message);
        var instance = await client.GetInstanceAsync(completion.NotifyInstanceId, cancellationToken).ConfigureAwait(false);
        if (instance == null || instance.IsCompleted)
        {
            LogDropped(logger, completion.JobId, completion.NotifyInstanceId);
            return false;
        }
        await client.RaiseEventAsync(completion.NotifyInstanceId, JobEvents.Completed, completion, cancellationToken).ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Completion of job {JobId} dropped: instance {InstanceId} is gone or finished")]
    private static partial void LogDropped(ILogger logger, string jobId, string instanceId);
}
