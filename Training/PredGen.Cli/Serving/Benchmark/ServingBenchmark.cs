using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Configuration;
using PredGen.Shared.Data;
using PredGen.Shared.Models;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;
using PredGen.Training.Checkpoints;
using PredGen.Training.Generation;
using PredGen.Training.Methods;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Serving.Benchmark;

public sealed record ServeBenchOptions
{
    /// <summary>A fine-tuned model folder to serve; null: fine-tune one quickly from <see cref="BaseModel"/>.</summary>
    public string? Model { get; init; }

    /// <summary>Base checkpoint for the quick fine-tune; null: models/base of the repository, else a random Small base.</summary>
    public string? BaseModel { get; init; }

    public int FineTuneSteps { get; init; } = 40;
    public IReadOnlyList<int> BatchLimits { get; init; } = [1, 8, 32];
    public int MaxWaitMs { get; init; } = 10;
    public double SecondsPerPhase { get; init; } = 6;

    /// <summary>Storage account (connection string) for queues and result blobs; null: start Azurite locally.</summary>
    public string? Queues { get; init; }

    /// <summary>storage-queue (default) or service-bus: requests and replies through <see cref="ServiceBusNamespace"/>'s
    /// <see cref="RequestsQueue"/> and session-enabled <see cref="RepliesQueue"/>, result blobs and the model in
    /// <see cref="Queues"/> (a connection string or blob service URL); Azure identity from DefaultAzureCredential.</summary>
    public string Transport { get; init; } = ServingOptions.StorageQueueTransport;

    public string? ServiceBusNamespace { get; init; }

    /// <summary>Service Bus: the (existing) queues the deployed worker uses; storage queues get a fresh queue per batch limit.</summary>
    public string RequestsQueue { get; init; } = "prediction-requests";

    public string RepliesQueue { get; init; } = "prediction-replies";

    /// <summary>libtorch intra-op threads for the model alone and the worker alike (1 by default: on shared cores
    /// OpenMP's spinning threads collapse under oversubscription).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Receive calls the worker keeps in flight (Serving:Receivers).</summary>
    public int Receivers { get; init; } = new ServingOptions().Receivers;
}

public sealed record ModelThroughput(int BatchSize, double RowsPerSecond, double BatchMs);

public sealed record LoadPhase(double OfferedPerSecond, int Concurrency, int Requests, double RequestsPerSecond, double P50Ms, double P99Ms, double MeanBatchSize, int Lost, int Duplicated,
    IReadOnlyDictionary<string, StageFigure>? Stages = null, double MessagesPerReceive = 0, PhaseCpu? Cpu = null);

/// <summary>One stage of the worker's handling in a phase (<see cref="ServingStage"/>): how often it ran, its mean time
/// per occurrence (a receive call, a batch's wait per request, ...), and its total time divided by the requests answered
/// (stages of different requests overlap, so these add up to more than the wall time).</summary>
public sealed record StageFigure(long Count, double MeanMs, double MsPerRequest);

/// <summary>CPU seconds taken during a phase of <see cref="Seconds"/> wall seconds: Azurite's node process; this process
/// (worker and load clients, which run in it); of that, the inference thread (the model); the rest (the worker's I/O and
/// the clients together). Null where /proc cannot be read.</summary>
public sealed record PhaseCpu(double Seconds, int Cores, double? AzuriteCpuSeconds, double ProcessCpuSeconds, double? InferenceThreadCpuSeconds,
    double? WorkerIoAndClientsCpuSeconds, double? AzuriteCpuMsPerRequest = null, double? WorkerIoAndClientsCpuMsPerRequest = null,
    double? ModelCpuMsPerRequest = null);

public sealed record ServingFigures(
    int MaxBatchSize, int MaxWaitMs, LoadPhase Saturation, double ModelRowsPerSecond, double Efficiency, LoadPhase HalfLoad,
    double P99TargetMs, bool MeetsThroughputTarget, bool MeetsLatencyTarget, int MaxInFlight = 0, int Receivers = 0, LoadPhase? WarmUp = null,
    bool MeetsBatchFillTarget = false, double? CpuBoundEfficiencyCeiling = null, int Clients = 0);

public sealed record DecodingFigures(int Batch, int NewTokens, double CachedMs, double RecomputeMs, double Speedup, bool TokensMatch);

public sealed record LabelScoringFigures(int Batch, double ScoringMs, double GenerationMs, double Speedup);

public sealed record ServeBenchResult(
    string Machine, string Model, string Method, string BaseModel, int TorchThreads, IReadOnlyList<ModelThroughput> ModelThroughput,
    IReadOnlyList<ServingFigures> Serving, DecodingFigures KvCache, LabelScoringFigures LabelScoring, string Notes);

/// <summary>
/// `predgen bench serve`: the prediction worker on storage queues (Azurite on this machine) against the model's own
/// batched throughput, in one run. Per batch limit: saturation (closed loop, enough outstanding requests to fill
/// every batch) and half of that load (open loop at a fixed rate), client-side latency from send to reply.
/// Also the KV cache's decoding speedup over recomputing the whole sequence per token, and exact label scoring's over
/// constrained generation.
/// </summary>
public static class ServingBenchmark
{

    /// <summary>Azurite when no --queues is given: the test suite's pinned copy, in memory (<see cref="LocalAzurite"/>).</summary>
    private static Task<LocalAzurite> StartAzuriteAsync(CancellationToken cancellationToken)
    {
        string script = LocalAzurite.FindScript(Directory.GetCurrentDirectory()) ?? throw new InvalidOperationException(
            "Azurite is not installed under tests/node_modules: run `npm ci` in tests/ (or scripts/test), or pass --queues <connection string>.");
        return LocalAzurite.StartAsync(script, location: null, TimeSpan.FromSeconds(90), attempts: 3, cancellationToken);
    }
    private static readonly string[] Texts =
        ["it was good", "so awful", "really nice", "quite poor", "the day was great", "honestly bad", "so nice", "it was awful"];

    public static async Task<ServeBenchResult> RunAsync(ServeBenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        if (options.Transport == ServingOptions.ServiceBusTransport && (options.ServiceBusNamespace == null || options.Queues == null))
            throw new InvalidOperationException("--transport service-bus needs --service-bus-namespace and --queues (the storage account for result blobs and the model)");
        if (options.Transport is not (ServingOptions.ServiceBusTransport or ServingOptions.StorageQueueTransport))
            throw new InvalidOperationException($"--transport is '{options.Transport}': use {ServingOptions.StorageQueueTransport} or {ServingOptions.ServiceBusTransport}");
        var torch = new TorchOptions { Device = "cpu", Threads = options.Threads };
        TorchRuntime.Apply(torch);
        string work = Path.Combine(Path.GetTempPath(), "predgen-bench-serve-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var (modelDir, baseName) = PrepareModel(options, work, torch, log);
            var card = ModelCard.Load(modelDir);

            await log.WriteLineAsync("measuring label scoring and KV-cache decoding").ConfigureAwait(false);
            using var model = TrainedModel.Load(modelDir, torch);
            var scoring = MeasureLabelScoring(model, 8);
            var kv = MeasureKvCache(modelDir, torch, batch: 8, newTokens: 32);
            var own = new List<ModelThroughput>();

            LocalAzurite? azurite = null;
            string connection = options.Queues ?? (azurite = await StartAzuriteAsync(cancellationToken).ConfigureAwait(false)).ConnectionString;
            var serving = new List<ServingFigures>();
            try
            {
                var store = ArtifactStoreFactory.Create(connection);
                string modelPath = BlobLayout.JobModel("bench", "bench-run", "bench-job");
                await store.UploadDirectoryAsync(modelDir, modelPath, cancellationToken).ConfigureAwait(false);
                await store.WriteTextAsync(BlobLayout.Champion("bench"), new ChampionPointer("bench", "bench-run", "bench-job", card.Method.ToString(),
                    modelPath, "accuracy", 1, DateTimeOffset.UtcNow).ToJson(), cancellationToken).ConfigureAwait(false);
                foreach (int limit in options.BatchLimits)
                {
                    // The model alone right before the worker with the same batch limit: the machine's load (shared cores)
                    // drifts, so the two figures of one limit are taken as close together as possible.
                    await log.WriteLineAsync($"batch limit {limit}: the model alone, then the worker").ConfigureAwait(false);
                    var modelAtLimit = MeasureModel(model, limit, options.SecondsPerPhase / 2);
                    own.Add(modelAtLimit);
                    serving.Add(await MeasureServingAsync(connection, azurite?.ProcessId, limit, options, modelAtLimit, Path.Combine(work, "cache"), cancellationToken).ConfigureAwait(false));
                }
            }
            finally
            {
                azurite?.Dispose();
            }
            return new ServeBenchResult(
                Machine: $"{Environment.ProcessorCount} cores, CPU, load average {LoadAverage()}",
                Model: options.Model ?? $"PredGen classifier fine-tuned {options.FineTuneSteps} steps on the synthetic sentiment task",
                Method: card.Method.ToString(), BaseModel: baseName, TorchThreads: get_num_threads(), own, serving, kv, scoring,
                Notes: options.Transport == ServingOptions.ServiceBusTransport
                    ? $"client-side latency (send -> reply received) through Service Bus {options.ServiceBusNamespace} ({options.RequestsQueue} -> {options.RepliesQueue}), " +
                      "result blobs written per first delivery; the worker and the clients share this machine's cores with the model"
                    : "client-side latency (send -> reply received) through Azurite storage queues, result blobs written per first delivery; " +
                      "Azurite, worker and clients share this machine's cores with the model (their CPU per phase: serving[].saturation.cpu; " +
                      "cpu_bound_efficiency_ceiling: the most the cores allow at that CPU per request)");
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static (string ModelDir, string BaseName) PrepareModel(ServeBenchOptions options, string work, TorchOptions torch, TextWriter log)
    {
        if (options.Model != null) return (options.Model, ModelCard.Load(options.Model).BaseModel ?? "unknown");
        string? baseDir = options.BaseModel ?? FindCommittedBase();
        string baseName = baseDir ?? "random LlamaConfig.Small (models/base not found)";
        baseDir ??= SyntheticTasks.WriteRandomBase(Path.Combine(work, "base"), LlamaConfig.Small(ByteTokenizer.Size));
        string data = Path.Combine(work, "data");
        SyntheticTasks.WriteClassification(data, trainRows: 64, testRows: 16);
        log.WriteLine($"fine-tuning PredGen on {baseName} for {options.FineTuneSteps} steps");
        var result = Trainer.Train(new TrainOptions
        {
            Method = MethodKind.PredGen, TaskKind = TaskKind.Classification, Seed = 5, MaxSteps = options.FineTuneSteps, BatchSize = 8,
            LearningRate = 1e-3, WarmupRatio = 0.1, FineTuning = FineTuning.Full, EvalEvery = options.FineTuneSteps, EarlyStoppingPatience = 0,
            CheckpointEvery = 0, MaxPromptTokens = 64, Torch = torch,
        }, data, baseDir, Path.Combine(work, "run"));
        return (result.ModelDirectory, baseName);
    }

    private static string? FindCommittedBase()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "models", "base");
            if (File.Exists(Path.Combine(candidate, "config.json"))) return candidate;
        }
        return null;
    }

    private static List<TextInput> Batch(int size, int offset = 0) =>
        [.. Enumerable.Range(0, size).Select(i => new TextInput(Texts[(i + offset) % Texts.Length]))];

    /// <summary>Rows per second of TrainedModel.Predict at one batch size, as the worker calls it (probabilities, no text).</summary>
    private static ModelThroughput MeasureModel(TrainedModel model, int batchSize, double seconds)
    {
        var batch = Batch(batchSize);
        model.Predict(batch, withProbabilities: true, withText: false); // warm-up
        var stopwatch = Stopwatch.StartNew();
        int batches = 0;
        while (stopwatch.Elapsed.TotalSeconds < seconds || batches < 3)
        {
            model.Predict(batch, withProbabilities: true, withText: false);
            batches++;
        }
        double elapsed = stopwatch.Elapsed.TotalSeconds;
        return new ModelThroughput(batchSize, Math.Round(batches * batchSize / elapsed, 1), Math.Round(elapsed * 1000 / batches, 2));
    }

    private static LabelScoringFigures MeasureLabelScoring(TrainedModel model, int batchSize)
    {
        var batch = Batch(batchSize);
        double scoring = TimeMs(() => model.Predict(batch, withProbabilities: true, withText: false));
        double generation = TimeMs(() => model.Predict(batch, withProbabilities: false, withText: true));
        return new LabelScoringFigures(batchSize, Math.Round(scoring, 2), Math.Round(generation, 2), Math.Round(generation / scoring, 2));
    }

    /// <summary>Greedy decoding of <paramref name="newTokens"/> tokens with the KV cache (GreedyDecoder) against running
    /// the whole sequence through the model for every new token.</summary>
    private static DecodingFigures MeasureKvCache(string modelDir, TorchOptions torch, int batch, int newTokens)
    {
        var (model, tokenizer) = ModelDirectory.Load(modelDir, torch);
        using (model)
        {
            model.eval();
            var prompts = Batch(batch).Select(t => (IReadOnlyList<int>)tokenizer.Encode("Text: " + t.Text + "\nAnswer:", addBos: true)).ToList();
            var none = new HashSet<int>();
            int[][] cached = [];
            double cachedMs = TimeMs(() => cached = [.. GreedyDecoder.Generate(model, prompts, newTokens, tokenizer.PadId, none).Tokens]);
            int[][] recomputed = [];
            double recomputeMs = TimeMs(() => recomputed = Recompute(model, prompts, newTokens, tokenizer.PadId));
            bool match = cached.Zip(recomputed).All(p => p.First.SequenceEqual(p.Second));
            return new DecodingFigures(batch, newTokens, Math.Round(cachedMs, 1), Math.Round(recomputeMs, 1), Math.Round(recomputeMs / cachedMs, 2), match);
        }
    }

    private static int[][] Recompute(LlamaForCausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens, int padId)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (ids, mask) = GreedyDecoder.LeftPad(prompts, padId, model.Device);
        var generated = prompts.Select(_ => new List<int>()).ToArray();
        for (int step = 0; step < newTokens; step++)
        {
            var logits = model.forward(new CausalLMInput(ids, mask)).Logits!;   // the whole sequence, every step
            var next = logits.select(1, -1).argmax(-1);
            long[] values = next.cpu().data<long>().ToArray();
            for (int r = 0; r < values.Length; r++) generated[r].Add((int)values[r]);
            ids = cat([ids, next.unsqueeze(1)], 1);
            mask = cat([mask, ones_like(next).unsqueeze(1).to(mask.dtype)], 1);
        }
        return [.. generated.Select(g => g.ToArray())];
    }

    private static double TimeMs(Action action)
    {
        action(); // warm-up
        var stopwatch = Stopwatch.StartNew();
        int runs = 0;
        while (stopwatch.Elapsed.TotalSeconds < 1.5 || runs < 3)
        {
            action();
            runs++;
        }
        return stopwatch.Elapsed.TotalMilliseconds / runs;
    }

    private static async Task<ServingFigures> MeasureServingAsync(string connection, int? azuritePid, int limit, ServeBenchOptions options, ModelThroughput model, string cache, CancellationToken cancellationToken)
    {
        bool serviceBus = options.Transport == ServingOptions.ServiceBusTransport;
        string requests = serviceBus ? options.RequestsQueue : "bench-requests-" + limit.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
        var settings = new Dictionary<string, string?>
        {
            [SettingNames.Storage] = connection,
            [SettingNames.ServingTransport] = options.Transport,
            [SettingNames.ServiceBusNamespace] = options.ServiceBusNamespace,
            [SettingNames.ServingRepliesQueue] = serviceBus ? options.RepliesQueue : null,
            [SettingNames.ServingTask] = "bench",
            [SettingNames.ServingRequestsQueue] = requests,
            [SettingNames.ServingMaxBatchSize] = limit.ToString(CultureInfo.InvariantCulture),
            [SettingNames.ServingMaxBatchWaitMs] = options.MaxWaitMs.ToString(CultureInfo.InvariantCulture),
            [SettingNames.ServingMaxInFlight] = MaxInFlight(limit).ToString(CultureInfo.InvariantCulture),
            [SettingNames.ServingMaxPollIntervalMs] = "10",
            [SettingNames.ServingReceivers] = options.Receivers.ToString(CultureInfo.InvariantCulture),
            [SettingNames.ServingModelCacheDirectory] = cache,
            [SettingNames.TorchDevice] = "cpu",
            [SettingNames.TorchThreads] = options.Threads.ToString(CultureInfo.InvariantCulture),
        };
        using var host = ServingHost.Build(settings, minimumLogLevel: LogLevel.Warning);
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var slot = host.Services.GetRequiredService<ServingModelSlot>();
            await slot.WaitForModelAsync(cancellationToken).WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
            var metrics = host.Services.GetRequiredService<ServingMetrics>();
            await using var serviceBusClient = serviceBus ? new ServiceBusClient(options.ServiceBusNamespace, new DefaultAzureCredential()) : null;
            List<IPredictionClient> clients = serviceBus
                ? [.. Enumerable.Range(0, LoadClients).Select(_ => new ServiceBusPredictionClient(serviceBusClient!, requests, options.RepliesQueue))]
                : [.. Enumerable.Range(0, LoadClients).Select(_ => new StorageQueuePredictionClient(StorageQueueClients.Create(connection), requests, maxPollInterval: TimeSpan.FromMilliseconds(10)))];
            try
            {
                int warmConcurrency = Math.Max(8, 3 * limit);
                var warmUp = await ClosedLoopAsync(clients, warmConcurrency, TimeSpan.FromSeconds(Math.Max(1, options.SecondsPerPhase / 3)),
                    new PhaseProbe(metrics, azuritePid), cancellationToken).ConfigureAwait(false);
                int concurrency = SaturationConcurrency(limit, model.RowsPerSecond, warmUp.P50Ms);
                var saturation = await ClosedLoopAsync(clients, concurrency, TimeSpan.FromSeconds(options.SecondsPerPhase), new PhaseProbe(metrics, azuritePid), cancellationToken).ConfigureAwait(false);
                var half = await OpenLoopAsync(clients, saturation.RequestsPerSecond / 2, TimeSpan.FromSeconds(options.SecondsPerPhase), new PhaseProbe(metrics, azuritePid), cancellationToken).ConfigureAwait(false);
                double efficiency = saturation.RequestsPerSecond / model.RowsPerSecond;
                double target = options.MaxWaitMs + 2 * model.BatchMs;
                return new ServingFigures(limit, options.MaxWaitMs, saturation, model.RowsPerSecond, Math.Round(efficiency, 3), half,
                    Math.Round(target, 1), efficiency >= 0.8, half.P99Ms <= target, MaxInFlight(limit), options.Receivers, warmUp,
                    saturation.MeanBatchSize >= 0.75 * limit, CpuBoundCeiling(saturation.Cpu, model.RowsPerSecond), LoadClients);
            }
            finally
            {
                foreach (var c in clients) await c.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Prediction clients the load loops share (each with its own reply queue and one receive loop): two keep
    /// up with the replies (32 per receive, deleted together) while polling Azurite half as much as four did.</summary>
    private const int LoadClients = 2;

    /// <summary>The worker's in-flight limit in the bench: eight batches (at least 64), room for the requests that are
    /// in their storage round trips while the model computes.</summary>
    private static int MaxInFlight(int limit) => Math.Max(64, 8 * limit);

    /// <summary>
    /// Outstanding requests for the saturation phase. A closed loop of N clients delivers at most N / latency requests
    /// per second (Little's law), so with storage round trips in every request a few batches' worth of clients leave
    /// the model idle and measure the clients, not the worker. Enough clients for twice the model's own rate at the
    /// warm-up's median latency, at least three batches' worth, at most what the worker holds in flight (more would only
    /// queue, and the clients' polling costs CPU on a shared box).
    /// </summary>
    internal static int SaturationConcurrency(int limit, double modelRowsPerSecond, double warmUpP50Ms)
    {
        int floor = Math.Max(8, 3 * limit), ceiling = Math.Max(floor, MaxInFlight(limit));
        if (double.IsNaN(warmUpP50Ms) || modelRowsPerSecond <= 0) return floor;
        return Math.Clamp((int)Math.Ceiling(2 * modelRowsPerSecond * warmUpP50Ms / 1000), floor, ceiling);
    }

    /// <summary>
    /// The highest efficiency this machine's cores allow, whatever the worker does: each request costs the storage
    /// emulator and the clients (and the worker's own I/O) their CPU per request as measured at saturation, plus the
    /// model's own time per row at this batch limit; all of it must fit in the cores. Efficiency cannot exceed
    /// min(1, cores / (rows/s x (io ms + model ms per row) / 1000)). Null without /proc.
    /// </summary>
    internal static double? CpuBoundCeiling(PhaseCpu? cpu, double modelRowsPerSecond)
    {
        if (cpu?.AzuriteCpuMsPerRequest is not { } azurite || cpu.WorkerIoAndClientsCpuMsPerRequest is not { } io || modelRowsPerSecond <= 0) return null;
        double msPerRequest = azurite + io + 1000 / modelRowsPerSecond;
        double maxPerSecond = cpu.Cores * 1000 / msPerRequest;
        return Math.Round(Math.Min(1, maxPerSecond / modelRowsPerSecond), 3);
    }

    private static PredictionRequest NewRequest(int i) => new()
    {
        RequestId = PredictionSchema.NewRequestId(), Task = "bench", Text = Texts[i % Texts.Length], ReturnProbabilities = true, ReturnText = false,
    };

    private static async Task<LoadPhase> ClosedLoopAsync(List<IPredictionClient> clients, int concurrency, TimeSpan duration, PhaseProbe probe, CancellationToken cancellationToken)
    {
        var latencies = new ConcurrentBag<double>();
        var seen = new ConcurrentDictionary<string, int>();
        int sent = 0;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var client = clients[worker % clients.Count];
            while (stopwatch.Elapsed < duration)
            {
                var request = NewRequest(Interlocked.Increment(ref sent));
                long started = Stopwatch.GetTimestamp();
                var reply = await client.PredictAsync(request, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                seen.AddOrUpdate(reply.RequestId, 1, (_, n) => n + 1);
            }
        })).ConfigureAwait(false);
        double seconds = stopwatch.Elapsed.TotalSeconds;
        return probe.Finish(Phase(0, concurrency, sent, latencies, seen, seconds, probe.Batches, probe.Rows));
    }

    private static async Task<LoadPhase> OpenLoopAsync(List<IPredictionClient> clients, double rate, TimeSpan duration, PhaseProbe probe, CancellationToken cancellationToken)
    {
        var latencies = new ConcurrentBag<double>();
        var seen = new ConcurrentDictionary<string, int>();
        var pending = new List<Task>();
        var interval = TimeSpan.FromSeconds(1 / Math.Max(rate, 0.5));
        var stopwatch = Stopwatch.StartNew();
        int sent = 0;
        while (stopwatch.Elapsed < duration)
        {
            var due = interval * sent;
            if (due > stopwatch.Elapsed) await Task.Delay(due - stopwatch.Elapsed, cancellationToken).ConfigureAwait(false);
            var client = clients[sent % clients.Count];
            var request = NewRequest(sent++);
            pending.Add(Task.Run(async () =>
            {
                long started = Stopwatch.GetTimestamp();
                var reply = await client.PredictAsync(request, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                seen.AddOrUpdate(reply.RequestId, 1, (_, n) => n + 1);
            }, cancellationToken));
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
        return probe.Finish(Phase(Math.Round(rate, 1), 0, sent, latencies, seen, stopwatch.Elapsed.TotalSeconds, probe.Batches, probe.Rows));
    }

    private static LoadPhase Phase(double offered, int concurrency, int sent, ConcurrentBag<double> latencies, ConcurrentDictionary<string, int> seen, double seconds, long batches, long rows)
    {
        var sorted = latencies.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return new LoadPhase(offered, concurrency, sent, Math.Round(seen.Count / seconds, 1), Math.Round(Percentile(0.5), 1), Math.Round(Percentile(0.99), 1),
            batches == 0 ? 0 : Math.Round((double)rows / batches, 2), Lost: sent - seen.Count, Duplicated: seen.Values.Count(n => n > 1));
    }

    /// <summary>What the worker did during one phase: its stage timings, how full its receives came back, and the CPU
    /// seconds Azurite, this process and its inference thread took (differences of readings at the start and the end).</summary>
    private sealed class PhaseProbe
    {
        private readonly ServingMetrics _metrics;
        private readonly int? _azuritePid;
        private readonly IReadOnlyDictionary<ServingStage, StageTotal> _stages;
        private readonly (long Messages, long Calls) _receives;
        private readonly long _batches, _rows, _replied;
        private readonly double? _azurite, _inference;
        private readonly TimeSpan _process;
        private readonly long _started = Stopwatch.GetTimestamp();

        public PhaseProbe(ServingMetrics metrics, int? azuritePid)
        {
            _metrics = metrics;
            _azuritePid = azuritePid;
            _stages = metrics.StageTotals();
            _receives = metrics.Receives;
            (_batches, _rows, _replied) = (metrics.Batches, metrics.Inferences, metrics.Replied);
            _azurite = azuritePid is { } pid ? CpuClock.ProcessSeconds(pid) : null;
            _inference = CpuClock.ThreadsSeconds(InferenceThreadName);
            _process = Process.GetCurrentProcess().TotalProcessorTime;
        }

        public long Batches => _metrics.Batches - _batches;
        public long Rows => _metrics.Inferences - _rows;

        public LoadPhase Finish(LoadPhase phase)
        {
            double seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            double process = (Process.GetCurrentProcess().TotalProcessorTime - _process).TotalSeconds;
            double? azurite = _azuritePid is { } pid && CpuClock.ProcessSeconds(pid) is { } a && _azurite is { } a0 ? a - a0 : null;
            double? inference = CpuClock.ThreadsSeconds(InferenceThreadName) is { } i && _inference is { } i0 ? i - i0 : null;
            long replied = Math.Max(1, _metrics.Replied - _replied);
            var now = _metrics.StageTotals();
            var stages = now.ToDictionary(kv => ServingMetrics.StageName(kv.Key), kv =>
            {
                var d = kv.Value - _stages[kv.Key];
                return new StageFigure(d.Count, Math.Round(d.MeanMs, 2), Math.Round(d.TotalMs / replied, 2));
            });
            var receives = _metrics.Receives;
            long calls = receives.Calls - _receives.Calls;
            return phase with
            {
                Stages = stages,
                MessagesPerReceive = calls == 0 ? 0 : Math.Round((double)(receives.Messages - _receives.Messages) / calls, 2),
                Cpu = new PhaseCpu(Math.Round(seconds, 2), Environment.ProcessorCount, Round(azurite), Math.Round(process, 2), Round(inference),
                    inference is { } m ? Math.Round(process - m, 2) : null,
                    PerRequest(azurite, replied), PerRequest(inference is { } m2 ? process - m2 : null, replied), PerRequest(inference, replied)),
            };
        }

        private static double? Round(double? x) => x is { } v ? Math.Round(v, 2) : null;

        private static double? PerRequest(double? seconds, long requests) => seconds is { } v ? Math.Round(v * 1000 / requests, 2) : null;
    }

    /// <summary>The batcher's thread (DynamicBatcher names it so); the model runs on it.</summary>
    private const string InferenceThreadName = "predgen-inference";

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}
