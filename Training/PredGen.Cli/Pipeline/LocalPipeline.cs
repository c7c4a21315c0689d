using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Workflows;
using PredGen.Workflows.Local;
using PredGen.Workflows.Retrain;

namespace PredGen.Cli.Pipeline;

/// <summary>
/// The Retrain orchestration on one machine: the in-process Durable Task engine (InProcessDurableEngine: real replay
/// semantics, no backend), the in-process job dispatcher, and this process as the worker. The orchestrations and
/// activities are the Functions app's (AddWorkflowTasks); only the engine and the transport differ.
/// </summary>
public sealed class LocalPipeline : IAsyncDisposable
{
    private readonly InProcessDurableEngine _engine;
    private readonly InProcessJobDispatcher _jobs;
    private readonly InProcessJobLoop _loop;

    private LocalPipeline(InProcessDurableEngine engine, InProcessJobDispatcher jobs, InProcessJobLoop loop)
    {
        _engine = engine;
        _jobs = jobs;
        _loop = loop;
    }

    public DurableTaskClient Client => _engine.Client;

    public static async Task<LocalPipeline> StartAsync(IArtifactStore store, IJobExecutor executor, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        // The engine logs ~550 lines a run at Information (shared/PLATFORM.md): warnings only.
        loggers ??= LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        var jobs = new InProcessJobDispatcher();
        var engine = await InProcessDurableEngine.StartAsync(r => r.AddWorkflowTasks(), s =>
        {
            s.AddSingleton(store);
            s.AddSingleton<IJobDispatcher>(jobs);
        }, loggers, cancellationToken).ConfigureAwait(false);
        var loop = new InProcessJobLoop(jobs, store, executor, InProcessJobLoop.RaisingEventsOn(engine.Client), loggers);
        return new LocalPipeline(engine, jobs, loop);
    }

    public Task<RetrainStart> StartRunAsync(RetrainRequest request, CancellationToken cancellationToken = default) =>
        RetrainStarter.StartAsync(Client, request, cancellationToken);

    /// <summary>Waits for the run, calling <paramref name="onProgress"/> each time its custom status changes.</summary>
    public async Task<OrchestrationMetadata> WaitAsync(string instanceId, Action<RetrainStatus>? onProgress, CancellationToken cancellationToken = default)
    {
        string? last = null;
        while (true)
        {
            var instance = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"instance {instanceId} vanished");
            if (instance.SerializedCustomStatus != null && instance.SerializedCustomStatus != last)
            {
                last = instance.SerializedCustomStatus;
                onProgress?.Invoke(instance.ReadCustomStatusAs<RetrainStatus>()!);
            }
            if (instance.IsCompleted) return instance;
            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _loop.DisposeAsync().ConfigureAwait(false);
        await _engine.DisposeAsync().ConfigureAwait(false);
        await _jobs.DisposeAsync().ConfigureAwait(false);
    }
}
