namespace PredGen.Shared.Configuration;

/// <summary>
/// Every configuration key a PredGen host reads, in one place, so that the infrastructure can be checked against
/// the code (tests/PredGen.Infra.Tests). Read settings only through these constants: <c>configuration[SettingNames.Storage]</c>,
/// <c>configuration.GetSection(SettingNames.TorchSection)</c>, <c>[QueueTrigger(..., Connection = SettingNames.X)]</c>.
/// Keys use ':' for nesting; in environment variables and app settings that is "__" (Storage:Foo -> Storage__Foo).
/// Mark each key with <see cref="SettingAttribute"/>: the Azure hosts that need it provided (SettingHosts.None when
/// the code has a default). In Azure every value is an endpoint, a name or a client id: never a key or a secret.
/// </summary>
public static class SettingNames
{
    // ---- identity and telemetry -------------------------------------------------------------------------------

    /// <summary>Client id of the host's user-assigned managed identity (DefaultAzureCredential reads it as well).</summary>
    [Setting(SettingHosts.All)]
    public const string ManagedIdentityClientId = "AZURE_CLIENT_ID";

    /// <summary>Application Insights connection string (ingestion endpoint + instrumentation key, no secret; local auth off, Entra ingestion).</summary>
    [Setting(SettingHosts.All)]
    public const string ApplicationInsightsConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    // ---- artifacts -------------------------------------------------------------------------------------------

    /// <summary>The artifact store (ArtifactStoreFactory): a folder, a connection string (Azurite), or in Azure the blob endpoint https://{account}.blob.core.windows.net.</summary>
    [Setting(SettingHosts.All)]
    public const string Storage = "Storage";

    /// <summary>Storage queues for the storage-queue transports: a connection string (Azurite), or in Azure the queue endpoint https://{account}.queue.core.windows.net.</summary>
    [Setting(SettingHosts.All)]
    public const string StorageQueues = "StorageQueues";

    // ---- Service Bus (Azure transports) ----------------------------------------------------------------------

    /// <summary>{namespace}.servicebus.windows.net; authenticated with the managed identity (local auth is disabled).</summary>
    [Setting(SettingHosts.All)]
    public const string ServiceBusNamespace = "ServiceBus:FullyQualifiedNamespace";

    // ---- training jobs ---------------------------------------------------------------------------------------

    /// <summary>service-bus | storage-queue | in-process.</summary>
    [Setting(SettingHosts.FunctionsApp | SettingHosts.TrainingJob)]
    public const string JobsTransport = "Jobs:Transport";

    /// <summary>Queue of training job messages (Service Bus queue or storage queue; "training-jobs").</summary>
    [Setting(SettingHosts.FunctionsApp | SettingHosts.TrainingJob)]
    public const string JobsQueue = "Jobs:Queue";

    /// <summary>Queue on which jobs report completion ("job-results").</summary>
    [Setting(SettingHosts.FunctionsApp | SettingHosts.TrainingJob)]
    public const string JobResultsQueue = "Jobs:ResultsQueue";

    /// <summary>Connection of the Functions app's blob (datasets) and queue (job results) triggers: the host's own
    /// storage. In Azure it is identity-based (AzureWebJobsStorage__credential / __clientId / __blobServiceUri /
    /// __queueServiceUri), which infra provides as those sub-keys, not under this name.</summary>
    [Setting(SettingHosts.None)]
    public const string FunctionsStorageConnection = "AzureWebJobsStorage";

    /// <summary>Base model folder for training jobs that name none (the trainer image's copy of models/base).</summary>
    [Setting(SettingHosts.None)]
    public const string WorkerBaseModel = "Worker:BaseModel";

    /// <summary>`predgen worker` exits 0 after this many seconds without a job (the event-driven trainer job); unset: runs until stopped.</summary>
    [Setting(SettingHosts.None)]
    public const string WorkerExitWhenIdleSeconds = "Worker:ExitWhenIdleSeconds";

    /// <summary>The execution's replicaTimeout (seconds): the worker takes no job it could not finish before it
    /// (ExecutionBudget); infra passes the trainer job's replicaTimeout. Unset: no limit.</summary>
    [Setting(SettingHosts.TrainingJob)]
    public const string WorkerExecutionTimeoutSeconds = "Worker:ExecutionTimeoutSeconds";

    /// <summary>The longest a job may run (seconds, default 6 h = the orchestration's job timeout).</summary>
    [Setting(SettingHosts.None)]
    public const string WorkerJobBudgetSeconds = "Worker:JobBudgetSeconds";

    /// <summary>What an upload trains: comma-separated methods (default all three), seeds per method, optimizer
    /// steps, base model (a local folder on the worker or an artifact prefix). All optional.</summary>
    [Setting(SettingHosts.None)]
    public const string RetrainMethods = "Retrain:Methods";

    [Setting(SettingHosts.None)]
    public const string RetrainSeeds = "Retrain:Seeds";

    [Setting(SettingHosts.None)]
    public const string RetrainSteps = "Retrain:Steps";

    [Setting(SettingHosts.None)]
    public const string RetrainBaseModel = "Retrain:BaseModel";

    // ---- predictions -----------------------------------------------------------------------------------------

    /// <summary>service-bus | storage-queue.</summary>
    [Setting(SettingHosts.PredictionWorker)]
    public const string ServingTransport = "Serving:Transport";

    /// <summary>The task whose champion the worker serves.</summary>
    [Setting(SettingHosts.PredictionWorker)]
    public const string ServingTask = "Serving:Task";

    /// <summary>Queue of prediction requests ("prediction-requests").</summary>
    [Setting(SettingHosts.PredictionWorker)]
    public const string ServingRequestsQueue = "Serving:RequestsQueue";

    /// <summary>Reply queue when the request names none ("prediction-replies"; session-enabled on Service Bus).</summary>
    [Setting(SettingHosts.PredictionWorker)]
    public const string ServingRepliesQueue = "Serving:RepliesQueue";

    /// <summary>Section bound to the prediction worker's ServingOptions (every key below has a default in code).</summary>
    public const string ServingSection = "Serving";

    /// <summary>Storage queues: where unanswerable requests go with their reason (default {requests queue}-poison).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingPoisonQueue = "Serving:PoisonQueue";

    /// <summary>Dynamic batching: the largest batch (default 8).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingMaxBatchSize = "Serving:MaxBatchSize";

    /// <summary>Dynamic batching: how long the first request of a batch waits for more (default 10 ms).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingMaxBatchWaitMs = "Serving:MaxBatchWaitMs";

    /// <summary>Requests received and not yet answered, at most (default 4 batches).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingMaxInFlight = "Serving:MaxInFlight";

    /// <summary>Storage queues: receive calls in flight at once, each taking up to 32 messages (default 4), so the
    /// batcher is not starved by one receive round trip at a time.</summary>
    [Setting(SettingHosts.None)]
    public const string ServingReceivers = "Serving:Receivers";

    /// <summary>Deliveries before a request is poisoned / dead-lettered (default 5).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingMaxDequeueCount = "Serving:MaxDequeueCount";

    /// <summary>Storage queues: visibility timeout of a received request (default 60 s).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingVisibilityTimeoutSeconds = "Serving:VisibilityTimeoutSeconds";

    /// <summary>Storage queues: the prefix every reply_to must start with (default prediction-replies-); the worker
    /// writes to no other queue of the account.</summary>
    [Setting(SettingHosts.None)]
    public const string ServingReplyQueuePrefix = "Serving:ReplyQueuePrefix";

    /// <summary>Seconds a request waits for its batch before failing as transient (redelivered; default 120 s).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingBatchTimeoutSeconds = "Serving:BatchTimeoutSeconds";

    /// <summary>Seconds shutdown waits for a running batch before leaving it to finish alone (default 30 s).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingShutdownTimeoutSeconds = "Serving:ShutdownTimeoutSeconds";

    /// <summary>Storage queues: backoff per delivery after a transient failure (default 2 s).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingRetryBackoffSeconds = "Serving:RetryBackoffSeconds";

    /// <summary>Storage queues: the longest pause between polls of an empty queue (default 200 ms).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingMaxPollIntervalMs = "Serving:MaxPollIntervalMs";

    /// <summary>Longest text + text_b accepted (default 2048 characters).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingMaxTextLength = "Serving:MaxTextLength";

    /// <summary>How often the champion pointer is checked for a new model (default 10 s).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingChampionPollSeconds = "Serving:ChampionPollSeconds";

    /// <summary>Where downloaded champion models are kept (default a temp folder).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingModelCacheDirectory = "Serving:ModelCacheDirectory";

    /// <summary>true: also print the OpenTelemetry metrics of meter PredGen.Serving to the console (local runs).</summary>
    [Setting(SettingHosts.None)]
    public const string ServingConsoleMetrics = "Serving:ConsoleMetrics";

    // ---- TorchSharp ------------------------------------------------------------------------------------------

    /// <summary>Section bound to TorchOptions.</summary>
    public const string TorchSection = "Torch";

    /// <summary>auto | cpu | cuda (TorchOptions.Device).</summary>
    [Setting(SettingHosts.Workers)]
    public const string TorchDevice = "Torch:Device";

    /// <summary>libtorch intra-op threads (TorchOptions.Threads); 0 = one per core.</summary>
    [Setting(SettingHosts.None)]
    public const string TorchThreads = "Torch:Threads";

    /// <summary>float32 | float16 | bfloat16 (TorchOptions.DType); defaults in code.</summary>
    [Setting(SettingHosts.None)]
    public const string TorchDType = "Torch:DType";

    /// <summary>The environment-variable / app-setting form of a key: "Jobs:Queue" -> "Jobs__Queue".</summary>
    public static string AsEnvironmentVariable(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return key.Replace(":", "__", StringComparison.Ordinal);
    }
}
