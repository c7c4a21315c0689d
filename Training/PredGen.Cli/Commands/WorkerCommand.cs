using System.CommandLine;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Telemetry;
using PredGen.Cli.Worker;
using PredGen.Shared.Configuration;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Commands;

/// <summary>
/// `predgen worker`: the training job host (the GPU Container Apps job in Azure; a process on Azurite locally). Takes
/// jobs from the jobs queue (Service Bus or a storage queue), runs them (train / MINE / evaluate), writes artifacts
/// under the run's prefix and reports on the results storage queue. Options default to the settings (SettingNames)
/// in the environment, so the container needs no arguments.
/// </summary>
public sealed class WorkerCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        string? Env(string key) => Environment.GetEnvironmentVariable(SettingNames.AsEnvironmentVariable(key));
        var storage = new Option<string?>("--storage") { Description = "artifact store (folder | connection string | blob URL); env Storage" };
        var transport = new Option<string?>("--transport") { Description = "service-bus | storage-queue; env Jobs__Transport (default storage-queue)" };
        var queues = new Option<string?>("--queues") { Description = "storage queues: connection string or queue endpoint URL; env StorageQueues" };
        var serviceBus = new Option<string?>("--service-bus") { Description = "Service Bus namespace (FQDN); env ServiceBus__FullyQualifiedNamespace" };
        var queue = new Option<string?>("--queue") { Description = "jobs queue; env Jobs__Queue (default training-jobs)" };
        var results = new Option<string?>("--results-queue") { Description = "results storage queue; env Jobs__ResultsQueue (default job-results)" };
        var baseModel = new Option<string?>("--base-model") { Description = "base model folder for jobs that name none; env Worker__BaseModel" };
        var work = new Option<string>("--work") { Description = "scratch folder", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "predgen-worker") };
        var device = new Option<string?>("--device") { Description = "cpu, cuda, cuda:N or auto; env Torch__Device (default auto)" };
        var visibility = new Option<int>("--visibility-seconds") { Description = "storage queue: how long a taken job stays hidden (renewed while it runs)", DefaultValueFactory = _ => 60 };
        var syncSeconds = new Option<double>("--checkpoint-sync-seconds") { Description = "how often checkpoints are mirrored to the store", DefaultValueFactory = _ => 10 };
        var exitWhenIdle = new Option<double?>("--exit-when-idle") { Description = "exit 0 once no job has arrived for this many seconds (a job in progress always finishes); env Worker__ExitWhenIdleSeconds; default: run until stopped" };
        var command = new Command("worker", "Take training / MINE / evaluation jobs from the jobs queue and run them (the Container Apps job's entry point).")
        {
            storage, transport, queues, serviceBus, queue, results, baseModel, work, device, visibility, syncSeconds, exitWhenIdle,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string? clientId = Env(SettingNames.ManagedIdentityClientId);
            string store = parse.GetValue(storage) ?? Env(SettingNames.Storage) ?? throw new InvalidOperationException("--storage or env Storage is required");
            string kind = parse.GetValue(transport) ?? Env(SettingNames.JobsTransport) ?? JobSettings.StorageQueueTransport;
            string jobsQueue = parse.GetValue(queue) ?? Env(SettingNames.JobsQueue) ?? JobSettings.DefaultQueue;
            string resultsQueue = parse.GetValue(results) ?? Env(SettingNames.JobResultsQueue) ?? JobSettings.DefaultResultsQueue;
            string? queueEndpoint = parse.GetValue(queues) ?? Env(SettingNames.StorageQueues);
            if (queueEndpoint == null) throw new InvalidOperationException("--queues or env StorageQueues is required (the results queue is a storage queue)");
            var credential = new Azure.Identity.DefaultAzureCredential(new Azure.Identity.DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });

            var artifacts = ArtifactStoreFactory.Create(store, clientId);
            var torch = new TorchOptions { Device = parse.GetValue(device) ?? Env(SettingNames.TorchDevice) ?? "auto" };
            var options = new WorkerOptions
            {
                WorkDirectory = parse.GetValue(work)!, DefaultBaseModel = parse.GetValue(baseModel) ?? Env(SettingNames.WorkerBaseModel), Torch = torch,
                CheckpointSyncInterval = TimeSpan.FromSeconds(parse.GetValue(syncSeconds)),
            };
            // In Azure the logs also go to Application Insights with the managed identity (disposing the factory flushes them).
            var azureMonitor = AzureMonitorTelemetry.From(Env);
            using var loggers = LoggerFactory.Create(b =>
            {
                b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
                azureMonitor?.AddLogging(b);
            });
            var sink = new StorageQueueCompletionSink(JobQueues.StorageQueue(queueEndpoint, resultsQueue, credential));
            var handler = new JobHandler(artifacts, new TorchJobExecutor(artifacts, options, MineAnalysisFactory.Create(torch)), sink, loggers.CreateLogger<JobHandler>());
            await using var serviceBusClient = kind == JobSettings.ServiceBusTransport
                ? JobQueues.ServiceBus(parse.GetValue(serviceBus) ?? Env(SettingNames.ServiceBusNamespace) ?? throw new InvalidOperationException("--service-bus or env ServiceBus__FullyQualifiedNamespace is required"), credential)
                : null;
            // Near the execution's replicaTimeout a new job could not finish: stop taking them (Service Bus, the Azure transport).
            var budget = ExecutionBudget.From(Env(SettingNames.WorkerExecutionTimeoutSeconds), Env(SettingNames.WorkerJobBudgetSeconds));
            var executionClock = System.Diagnostics.Stopwatch.StartNew();
            IJobSource source = serviceBusClient != null
                ? new ServiceBusJobSource(serviceBusClient, jobsQueue, takeAnother: () => budget.CanTakeAnother(executionClock.Elapsed))
                : new StorageQueueJobSource(JobQueues.StorageQueue(queueEndpoint, jobsQueue, credential), TimeSpan.FromSeconds(parse.GetValue(visibility)),
                    onPoisoned: (job, reason, ct) => handler.GiveUpAsync(job, reason, ct), logger: loggers.CreateLogger<StorageQueueJobSource>());
            Console.WriteLine($"worker: {kind} queue '{jobsQueue}', results '{resultsQueue}', store {artifacts.Location}");
            double? idleSeconds = parse.GetValue(exitWhenIdle)
                ?? (Env(SettingNames.WorkerExitWhenIdleSeconds) is { Length: > 0 } idle ? double.Parse(idle, System.Globalization.CultureInfo.InvariantCulture) : null);
            using var idleStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watch = new IdleWatch(idleSeconds is double s ? TimeSpan.FromSeconds(s) : null, idleStop);
            var watching = watch.RunAsync(idleStop.Token);
            await source.RunAsync(async (job, ct) =>
            {
                using var busy = watch.Busy();
                await handler.HandleAsync(job, ct).ConfigureAwait(false);
            }, idleStop.Token).ConfigureAwait(false);
            await idleStop.CancelAsync().ConfigureAwait(false);
            await watching.ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}

/// <summary>Stops an event-driven worker (a Container Apps job execution is billed until it exits) once no job has
/// arrived for the idle time; never while a job runs.</summary>
internal sealed class IdleWatch(TimeSpan? idle, CancellationTokenSource stop)
{
    private long _lastActivity = Environment.TickCount64;
    private int _running;

    public IDisposable Busy()
    {
        Interlocked.Increment(ref _running);
        return new Release(this);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (idle is not TimeSpan limit) return;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(50, limit.TotalMilliseconds / 4))), cancellationToken).ConfigureAwait(false);
                if (Volatile.Read(ref _running) == 0 && Environment.TickCount64 - Interlocked.Read(ref _lastActivity) > limit.TotalMilliseconds)
                {
                    await stop.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping anyway
        }
    }

    private sealed class Release(IdleWatch watch) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.Exchange(ref watch._lastActivity, Environment.TickCount64);
            Interlocked.Decrement(ref watch._running);
        }
    }
}
