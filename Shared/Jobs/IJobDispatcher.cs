namespace PredGen.Shared.Jobs;

/// <summary>
/// The one seam between the orchestration and the machines that train: send a job. Service Bus in Azure (its queue
/// length scales the GPU Container Apps job through KEDA), an Azure Storage queue locally (Azurite), or in-process for
/// the CLI. Delivery is at least once everywhere; the worker makes a redelivery a no-op (BlobLayout.JobResult marker).
/// </summary>
public interface IJobDispatcher
{
    Task DispatchAsync(JobMessage job, CancellationToken cancellationToken = default);
}

/// <summary>The worker side: where jobs come from. Runs <c>handler</c> for each job until cancelled; a job whose
/// handler throws (or whose process dies) is delivered again after the transport's lock / visibility timeout.</summary>
public interface IJobSource
{
    Task RunAsync(Func<JobMessage, CancellationToken, Task> handler, CancellationToken cancellationToken);
}

/// <summary>Where a worker reports that a job is done (the results queue, or a callback in-process).</summary>
public interface IJobCompletionSink
{
    Task ReportAsync(JobCompletion completion, CancellationToken cancellationToken = default);
}

/// <summary>Defaults and transport names for the job settings (keys: SettingNames.JobsTransport, JobsQueue,
/// JobResultsQueue, StorageQueues, ServiceBusNamespace).</summary>
public static class JobSettings
{
    public const string DefaultQueue = "training-jobs";

    /// <summary>Always an Azure Storage queue, in Azure too: the Functions app's queue trigger reads it (the Service Bus
    /// trigger extension is not available to this project, see shared/PLATFORM.md).</summary>
    public const string DefaultResultsQueue = "job-results";

    public const string ServiceBusTransport = "service-bus";
    public const string StorageQueueTransport = "storage-queue";
    public const string InProcessTransport = "in-process";
}
