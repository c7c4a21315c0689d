using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PredGen.Cli.Serving;
using PredGen.Shared.Configuration;
using PredGen.Shared.Models;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;
using PredGen.TestSupport;

namespace PredGen.Cli.Tests.Serving;

/// <summary>
/// A `predgen serve` host on Azurite with its own task, queues and model cache: artifacts (champion pointer, model
/// folder, result blobs) in Azurite blobs, requests and replies on Azurite queues, a ScriptedEngine as the model.
/// </summary>
public sealed class ServingTestBed : IAsyncDisposable
{
    private readonly string _cache;

    private ServingTestBed(AzuriteFixture azurite, IHost host, IArtifactStore store, ScriptedEngineLoader? loader, string task, string requestsQueue, string cache)
    {
        _cache = cache;
        Azurite = azurite;
        Host = host;
        Store = store;
        Loader = loader;
        Task = task;
        RequestsQueue = requestsQueue;
    }

    public AzuriteFixture Azurite { get; }
    public IHost Host { get; }
    public IArtifactStore Store { get; }
    /// <summary>The scripted model's loader; null when the host serves a real TrainedModel.</summary>
    public ScriptedEngineLoader? Loader { get; }
    public string Task { get; }
    public string RequestsQueue { get; }
    public string PoisonQueue => RequestsQueue + "-poison";
    public ServingMetrics Metrics => Host.Services.GetRequiredService<ServingMetrics>();
    public ServingModelSlot Slot => Host.Services.GetRequiredService<ServingModelSlot>();

    public static async Task<ServingTestBed> StartAsync(AzuriteFixture azurite, int maxBatchSize = 8, int maxBatchWaitMs = 5, int computeMs = 0,
        int maxDequeueCount = 2, string? trainedModelDirectory = null, int visibilityTimeoutSeconds = 60, double batchTimeoutSeconds = 120)
    {
        string id = Guid.NewGuid().ToString("N")[..8];
        string task = "t" + id;
        string requests = "requests-" + id;
        string cache = Path.Combine(Path.GetTempPath(), "predgen-serving-test-" + id);
        var store = ArtifactStoreFactory.Create(azurite.ConnectionString);
        await PromoteAsync(store, task, "job-a", trainedModelDirectory);
        var loader = trainedModelDirectory == null ? new ScriptedEngineLoader(computeMs) : null;
        var settings = new Dictionary<string, string?>
        {
            [SettingNames.Storage] = azurite.ConnectionString,
            [SettingNames.ServingTransport] = ServingOptions.StorageQueueTransport,
            [SettingNames.ServingTask] = task,
            [SettingNames.ServingRequestsQueue] = requests,
            [SettingNames.ServingMaxBatchSize] = maxBatchSize.ToString(),
            [SettingNames.ServingMaxBatchWaitMs] = maxBatchWaitMs.ToString(),
            [SettingNames.ServingMaxDequeueCount] = maxDequeueCount.ToString(),
            [SettingNames.ServingVisibilityTimeoutSeconds] = visibilityTimeoutSeconds.ToString(),
            [SettingNames.ServingBatchTimeoutSeconds] = batchTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SettingNames.ServingRetryBackoffSeconds] = "0",
            [SettingNames.ServingMaxPollIntervalMs] = "20",
            [SettingNames.ServingChampionPollSeconds] = "0.1",
            [SettingNames.ServingMaxTextLength] = "200",
            [SettingNames.ServingModelCacheDirectory] = cache,
            [SettingNames.TorchDevice] = "cpu",
            [SettingNames.TorchThreads] = "1",
        };
        // Without a scripted loader the host keeps its default: TrainedModel.Load of the downloaded champion folder.
        var host = ServingHost.Build(settings, services => { if (loader != null) services.AddSingleton<IPredictionEngineLoader>(loader); }, LogLevel.Warning);
        await host.StartAsync();
        var bed = new ServingTestBed(azurite, host, store, loader, task, requests, cache);
        await bed.Slot.WaitForModelAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return bed;
    }

    /// <summary>Uploads a model folder for <paramref name="jobId"/> (a trained one, or a placeholder for the scripted
    /// model) and points the champion at it, as PromoteChampion does.</summary>
    public static async Task PromoteAsync(IArtifactStore store, string task, string jobId, string? trainedModelDirectory = null)
    {
        string modelPath = BlobLayout.JobModel(task, "run-1", jobId);
        if (trainedModelDirectory != null) await store.UploadDirectoryAsync(trainedModelDirectory, modelPath);
        else await store.WriteTextAsync(BlobLayout.Combine(modelPath, "model_card.json"), "{\"method\":\"PredGen\"}");
        var pointer = new ChampionPointer(task, "run-1", jobId, "PredGen", modelPath, "accuracy", 0.9, DateTimeOffset.UtcNow);
        await store.WriteTextAsync(BlobLayout.Champion(task), pointer.ToJson());
    }

    public StorageQueuePredictionClient NewClient() =>
        new(Azurite.CreateQueueServiceClient(), RequestsQueue, maxPollInterval: TimeSpan.FromMilliseconds(20));

    public PredictionRequest Request(string text, string? id = null) =>
        new() { RequestId = id ?? PredictionSchema.NewRequestId(), Task = Task, Text = text, ReturnText = true };

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
        try { Directory.Delete(_cache, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
