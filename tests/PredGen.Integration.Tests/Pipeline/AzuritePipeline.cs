using System.Diagnostics;
using Azure.Storage.Queues;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Worker;
using PredGen.Functions;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.TestSupport;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using PredGen.Workflows;
using PredGen.Workflows.Retrain;

namespace PredGen.Integration.Tests.Pipeline;

/// <summary>
/// The Azure shape of the pipeline on Azurite, minus the Functions host (which cannot run here): artifacts in blob
/// storage, jobs on a storage queue, a `predgen` worker taking them (in this process or a child process), completions
/// on the results queue relayed by the Functions app's own queue-trigger method, the workflows on the in-process
/// Durable Task engine, and runs started by the blob-trigger method. Queue and task names are unique per harness.
/// </summary>
public sealed class AzuritePipeline : IAsyncDisposable
{
    private readonly AzuriteFixture _azurite;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly string _scratch;
    private DurableTaskTestHost? _host;
    private CancellationTokenSource? _workerStop;
    private Task? _worker;

    public AzuritePipeline(AzuriteFixture azurite, string name)
    {
        _azurite = azurite;
        string id = Guid.NewGuid().ToString("N")[..8];
        Task = name + "-" + id;
        JobsQueue = "jobs-" + id;
        ResultsQueue = "results-" + id;
        _scratch = Path.Combine(Path.GetTempPath(), "predgen-it-" + id);
        Directory.CreateDirectory(_scratch);
        Store = ArtifactStoreFactory.Create(azurite.ConnectionString);
        BaseModel = TinyBaseModel();
    }

    public string Task { get; }
    public string JobsQueue { get; }
    public string ResultsQueue { get; }
    public IArtifactStore Store { get; }
    public string BaseModel { get; }
    public DurableTaskClient Client => _host!.Client;

    /// <summary>What an upload trains: tiny model, few steps, one seed.</summary>
    public RetrainDefaults Defaults { get; set; } = new();

    private static readonly Lock s_modelLock = new();

    /// <summary>A tiny Llama with the byte tokenizer, made once per test run (the project ships no weights for tests).</summary>
    public static string TinyBaseModel()
    {
        string dir = Path.Combine(Path.GetTempPath(), "predgen-it-tiny-base");
        lock (s_modelLock)
        {
            if (File.Exists(Path.Combine(dir, "config.json"))) return dir;
            var tokenizer = new ByteTokenizer();
            torchSeed();
            using var model = new LlamaForCausalLM(LlamaConfig.Tiny(tokenizer.VocabSize));
            ModelDirectory.Save(model, tokenizer, dir);
            return dir;
        }
        static void torchSeed() => TorchSharp.torch.manual_seed(7);
    }

    /// <summary>Worker logs go to the console at Information (xunit shows them on failure with --logger console).</summary>
    public ILoggerFactory Loggers { get; } = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information));

    public QueueClient Queue(string name) => JobQueues.StorageQueue(_azurite.ConnectionString, name);

    public async Task StartAsync()
    {
        var jobs = new StorageQueueJobDispatcher(Queue(JobsQueue));
        _host = await DurableTaskTestHost.StartAsync(r => r.AddWorkflowTasks(), new DurableTaskTestHostOptions
        {
            LoggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning)),
            ConfigureServices = s =>
            {
                s.AddSingleton(Store);
                s.AddSingleton<IJobDispatcher>(jobs);
            },
        });
        _loops.Add(RelayResultsAsync(_stop.Token));
    }

    /// <summary>What the Functions host does with the results queue: call the queue-trigger method per message.</summary>
    private async Task RelayResultsAsync(CancellationToken cancellationToken)
    {
        var results = Queue(ResultsQueue);
        await results.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var trigger = new JobResultsTrigger(NullLogger<JobResultsTrigger>.Instance);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var messages = (await results.ReceiveMessagesAsync(16, TimeSpan.FromSeconds(30), cancellationToken)).Value;
                foreach (var m in messages)
                {
                    await trigger.JobResultReceived(m.Body.ToString(), Client, cancellationToken);
                    await results.DeleteMessageAsync(m.MessageId, m.PopReceipt, cancellationToken);
                }
                if (messages.Length == 0) await System.Threading.Tasks.Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>A `predgen worker` in this process (the real TorchSharp executor).</summary>
    public void StartWorker(TimeSpan? visibility = null)
    {
        _workerStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var executor = new TorchJobExecutor(Store, new WorkerOptions
        {
            WorkDirectory = Path.Combine(_scratch, "worker-" + Guid.NewGuid().ToString("N")[..4]), DefaultBaseModel = BaseModel,
            Torch = new TorchOptions { Device = "cpu" }, CheckpointSyncInterval = TimeSpan.FromMilliseconds(300),
        }, MineAnalysisFactory.Create(new TorchOptions { Device = "cpu" }));
        var handler = new JobHandler(Store, executor, new StorageQueueCompletionSink(Queue(ResultsQueue)), Loggers.CreateLogger<JobHandler>());
        var source = new StorageQueueJobSource(Queue(JobsQueue), visibility ?? TimeSpan.FromSeconds(30), pollInterval: TimeSpan.FromMilliseconds(200));
        var token = _workerStop.Token;
        _worker = System.Threading.Tasks.Task.Run(() => source.RunAsync(async (job, ct) => await handler.HandleAsync(job, ct), token));
    }

    public System.Text.StringBuilder ChildOutput { get; } = new();

    /// <summary>What a job left in the store (for failure messages).</summary>
    public async Task<string> DescribeJobAsync(string runId, string jobId)
    {
        var paths = await Store.ListAsync(BlobLayout.Job(Task, runId, jobId) + "/");
        string? result = await Store.ReadTextAsync(BlobLayout.JobResult(Task, runId, jobId));
        var jobs = (await Queue(JobsQueue).PeekMessagesAsync(10)).Value.Length;
        return $"{paths.Count} artifacts ({string.Join(", ", paths.Take(12))}); result {result ?? "none"}; jobs queue visible {jobs}; child:\n{ChildOutput}";
    }

    /// <summary>`predgen worker` as a child process (dotnet predgen.dll worker ...), to be killed by a test.</summary>
    public Process StartWorkerProcess(int visibilitySeconds)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "predgen.dll");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            dll, "worker", "--storage", _azurite.ConnectionString, "--queues", _azurite.ConnectionString, "--transport", JobSettings.StorageQueueTransport,
            "--queue", JobsQueue, "--results-queue", ResultsQueue, "--base-model", BaseModel, "--work", Path.Combine(_scratch, "child"),
            "--device", "cpu", "--visibility-seconds", visibilitySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--checkpoint-sync-seconds", "0.2",
        }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (ChildOutput) ChildOutput.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (ChildOutput) ChildOutput.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Uploads a file to datasets/{task}/{name} and delivers the blob-created event to the trigger method.</summary>
    public async Task<RetrainStart?> UploadAsync(string name, string content)
    {
        string path = BlobLayout.Dataset(Task, name);
        await Store.WriteTextAsync(path, content);
        return await DeliverBlobEventAsync(name);
    }

    /// <summary>One Event Grid delivery of BlobCreated for datasets/{task}/{name}: the trigger method with the blob's content.</summary>
    public async Task<RetrainStart?> DeliverBlobEventAsync(string name)
    {
        var blob = await Store.ReadAsync(BlobLayout.Dataset(Task, name));
        using var content = blob!.Content.ToStream();
        var trigger = new DatasetTrigger(Defaults, NullLogger<DatasetTrigger>.Instance);
        return await trigger.DatasetUploaded(content, Task, name, Client, CancellationToken.None);
    }

    public async Task<OrchestrationMetadata> WaitAsync(string instanceId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_worker != null) { try { await _worker; } catch (OperationCanceledException) { } }
        foreach (var loop in _loops) { try { await loop; } catch (OperationCanceledException) { } }
        if (_host != null) await _host.DisposeAsync();
        _stop.Dispose();
        _workerStop?.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
