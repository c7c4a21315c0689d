using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Workflows;
using PredGen.Workflows.Local;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests;

/// <summary>The Retrain orchestration on the in-process Durable Task engine, a folder store and an in-process worker
/// running <see cref="FakeJobExecutor"/> (no TorchSharp in this assembly).</summary>
public sealed class RetrainHarness : IAsyncDisposable
{
    private readonly string _root;
    private DurableTaskTestHost? _host;
    private InProcessJobLoop? _loop;

    public FileSystemArtifactStore Store { get; }
    public InProcessJobDispatcher Jobs { get; } = new();
    public FakeJobExecutor Executor { get; }
    public DurableTaskClient Client => _host!.Client;

    public RetrainHarness(FakeJobExecutor? executor = null)
    {
        _root = Path.Combine(Path.GetTempPath(), "predgen-wf-" + Guid.NewGuid().ToString("N")[..8]);
        Store = new FileSystemArtifactStore(_root);
        Executor = executor ?? new FakeJobExecutor(Store);
    }

    /// <summary>Sink that drops every completion event (to exercise the status-poll fallback).</summary>
    public bool DropCompletionEvents { get; init; }

    public async Task StartAsync()
    {
        _host = await DurableTaskTestHost.StartAsync(r => r.AddWorkflowTasks(), new DurableTaskTestHostOptions
        {
            LoggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning)),
            ConfigureServices = s =>
            {
                s.AddSingleton<IArtifactStore>(Store);
                s.AddSingleton<IJobDispatcher>(Jobs);
            },
        });
        var sink = DropCompletionEvents ? new CallbackCompletionSink((_, _) => Task.CompletedTask) : InProcessJobLoop.RaisingEventsOn(_host.Client);
        _loop = new InProcessJobLoop(Jobs, Store, Executor, sink, NullLoggerFactory.Instance);
    }

    public async Task<string> UploadAsync(string task, string file, string content)
    {
        string path = BlobLayout.Dataset(task, file);
        await Store.WriteTextAsync(path, content);
        return path;
    }

    public static RetrainRequest Request(string task, string datasetPath, string runId = "run1") => new()
    {
        Task = task, DatasetPath = datasetPath, RunId = runId, Seeds = 1, JobPollSeconds = 2, JobTimeoutSeconds = 120,
    };

    public async Task<OrchestrationMetadata> RunAsync(RetrainRequest request, TimeSpan? timeout = null)
    {
        string id = RetrainRequest.InstanceIdFor(request.Task, request.RunId);
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(RetrainOrchestration), request, new StartOrchestrationOptions(id));
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_loop != null) await _loop.DisposeAsync();
        if (_host != null) await _host.DisposeAsync();
        await Jobs.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
