namespace PredGen.Cli.Serving;

/// <summary>How the prediction worker runs; bound from the "Serving" section (SettingNames.Serving*; env: Serving__MaxBatchSize ...).</summary>
public sealed record ServingOptions
{
    public const string SectionName = Shared.Configuration.SettingNames.ServingSection;
    public const string StorageQueueTransport = "storage-queue";
    public const string ServiceBusTransport = "service-bus";

    /// <summary>The task whose champion model this worker serves (models/{task}/champion.json).</summary>
    public string Task { get; init; } = "";

    /// <summary>storage-queue (local, Azurite) or service-bus (Azure).</summary>
    public string Transport { get; init; } = StorageQueueTransport;

    public string RequestsQueue { get; init; } = "prediction-requests";

    /// <summary>Where replies go when a request names none (storage queues) or has no ReplyTo (Service Bus, session-enabled).</summary>
    public string RepliesQueue { get; init; } = "prediction-replies";

    /// <summary>Storage queues: a request's reply_to must start with this (the prefix StorageQueuePredictionClient
    /// names its reply queues with), so a sender cannot make the worker write into any other queue of the account.</summary>
    public string ReplyQueuePrefix { get; init; } = "prediction-replies-";

    /// <summary>Storage queues: where unanswerable messages go, with their reason. Default: {RequestQueue}-poison.</summary>
    public string? PoisonQueue { get; init; }

    public string PoisonQueueName => PoisonQueue ?? RequestsQueue + "-poison";

    /// <summary>Dynamic batching: a batch runs when it has this many requests ...</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>... or when its first request has waited this long.</summary>
    public int MaxBatchWaitMs { get; init; } = 10;

    /// <summary>Requests held in memory at once (received, not yet answered); 0: four batches.</summary>
    public int MaxInFlight { get; init; }

    public int EffectiveMaxInFlight => MaxInFlight > 0 ? MaxInFlight : Math.Max(4 * MaxBatchSize, 16);

    /// <summary>Storage queues: receive calls in flight at once (each takes up to 32 messages, as many as MaxInFlight has
    /// room for). One receiver alone leaves the batcher waiting a whole round trip between receives; while the queue is
    /// empty only the first keeps polling, so idle polling costs no more than one receiver.</summary>
    public int Receivers { get; init; } = 4;

    /// <summary>Storage queues: deliveries before a message goes to the poison queue (Service Bus: the queue's MaxDeliveryCount).</summary>
    public int MaxDequeueCount { get; init; } = 5;

    /// <summary>Storage queues: how long a received request stays hidden; renewed every half of it while the request is
    /// being answered, so a slow batch is not redelivered to another worker.</summary>
    public int VisibilityTimeoutSeconds { get; init; } = 60;

    /// <summary>The longest a request waits for its batch; past it the request fails as transient (redelivered, and
    /// poisoned after MaxDequeueCount), so a hung model cannot hold messages for ever.</summary>
    public double BatchTimeoutSeconds { get; init; } = 120;

    /// <summary>How long stopping waits for a running batch; a batch still running then finishes alone, and its model
    /// is disposed when it does (never under it).</summary>
    public double ShutdownTimeoutSeconds { get; init; } = 30;

    /// <summary>Storage queues: after a transient failure the message reappears after this many seconds times its dequeue count (at most 30 s).</summary>
    public double RetryBackoffSeconds { get; init; } = 2;

    /// <summary>Storage queues: the longest pause between polls of an empty queue (polling backs off from 5 ms).</summary>
    public int MaxPollIntervalMs { get; init; } = 200;

    public int MaxTextLength { get; init; } = Shared.Predictions.PredictionSchema.DefaultMaxTextLength;

    /// <summary>How often the champion pointer's ETag is checked for a new model.</summary>
    public double ChampionPollSeconds { get; init; } = 10;

    /// <summary>Where downloaded models are kept (one folder per run/job).</summary>
    public string ModelCacheDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "predgen-serving-models");
}
