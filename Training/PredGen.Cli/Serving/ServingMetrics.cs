using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PredGen.Cli.Serving;

/// <summary>Where a request's time goes between the queue and its reply (the profile `predgen bench serve` reports).</summary>
public enum ServingStage
{
    /// <summary>One receive call to the request queue (up to 32 messages).</summary>
    Receive,
    /// <summary>Validating the message body (JSON) and hashing its content.</summary>
    Parse,
    /// <summary>Reading the stored reply of the request id, if any (redelivery check).</summary>
    ResultRead,
    /// <summary>From joining the batcher's queue to its batch starting on the inference thread.</summary>
    BatchWait,
    /// <summary>The model's batched call (each request of a batch counts the whole batch's time).</summary>
    Compute,
    /// <summary>Serialising the reply and writing the result blob.</summary>
    ResultWrite,
    /// <summary>Sending the reply message.</summary>
    ReplySend,
    /// <summary>Deleting (storage queues) or completing (Service Bus) the request message.</summary>
    Settle,
    /// <summary>The whole handling of one answered request, from its receive to its settlement.</summary>
    Handle,
}

/// <summary>Count and total milliseconds of one stage since the worker started.</summary>
public readonly record struct StageTotal(long Count, double TotalMs)
{
    public double MeanMs => Count == 0 ? 0 : TotalMs / Count;

    public static StageTotal operator -(StageTotal a, StageTotal b) => new(a.Count - b.Count, a.TotalMs - b.TotalMs);
}

/// <summary>
/// The worker's OpenTelemetry-compatible instruments (System.Diagnostics.Metrics, meter "PredGen.Serving"), plus running
/// totals read by tests, the bench and the shutdown log line.
/// </summary>
public sealed class ServingMetrics : IDisposable
{
    public const string MeterName = "PredGen.Serving";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _inferences;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _loadFailures;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _latency;
    private readonly Histogram<double> _batchCompute;
    private readonly Histogram<double> _stage;
    private readonly long[] _stageCounts = new long[Enum.GetValues<ServingStage>().Length];
    private readonly long[] _stageTicks = new long[Enum.GetValues<ServingStage>().Length];
    private long _received, _receiveCalls;
    private long _replied, _cached, _rejected, _inferred, _batches, _reloaded, _failed, _loadFailed;

    public ServingMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("predgen.serving.requests", "{request}", "Requests answered, by outcome (computed, cached, rejected)");
        _deadLetters = _meter.CreateCounter<long>("predgen.serving.dead_letters", "{message}", "Messages dead-lettered or sent to the poison queue, by reason");
        _inferences = _meter.CreateCounter<long>("predgen.serving.inferences", "{row}", "Rows the model computed");
        _reloads = _meter.CreateCounter<long>("predgen.serving.model_reloads", "{model}", "Champion models loaded");
        _loadFailures = _meter.CreateCounter<long>("predgen.serving.model_load_failures", "{model}", "Champions that could not be loaded (each ETag of the pointer once)");
        _failures = _meter.CreateCounter<long>("predgen.serving.failures", "{message}", "Messages that failed transiently and will be redelivered");
        _batchSize = _meter.CreateHistogram<int>("predgen.serving.batch_size", "{request}", "Requests per model batch");
        _latency = _meter.CreateHistogram<double>("predgen.serving.latency", "ms", "From receiving a request to its reply being sent");
        _batchCompute = _meter.CreateHistogram<double>("predgen.serving.batch_compute", "ms", "Model time per batch");
        _stage = _meter.CreateHistogram<double>("predgen.serving.stage", "ms", "Time per step of answering a request, by stage");
    }

    /// <summary>Messages received and receive calls made (storage queues): how full each receive came back.</summary>
    public (long Messages, long Calls) Receives => (Interlocked.Read(ref _received), Interlocked.Read(ref _receiveCalls));

    public void RecordStage(ServingStage stage, double ms)
    {
        Interlocked.Increment(ref _stageCounts[(int)stage]);
        Interlocked.Add(ref _stageTicks[(int)stage], (long)(ms * TimeSpan.TicksPerMillisecond));
        _stage.Record(ms, new KeyValuePair<string, object?>("stage", StageName(stage)));
    }

    /// <summary>The stage took from <paramref name="started"/> (a <see cref="Stopwatch.GetTimestamp"/>) until now.</summary>
    public void RecordStageSince(ServingStage stage, long started) => RecordStage(stage, Stopwatch.GetElapsedTime(started).TotalMilliseconds);

    public void RecordReceive(int messages, double ms)
    {
        Interlocked.Increment(ref _receiveCalls);
        Interlocked.Add(ref _received, messages);
        RecordStage(ServingStage.Receive, ms);
    }

    /// <summary>Totals per stage so far; subtract two snapshots for a phase.</summary>
    public IReadOnlyDictionary<ServingStage, StageTotal> StageTotals() =>
        Enum.GetValues<ServingStage>().ToDictionary(s => s, s => new StageTotal(
            Interlocked.Read(ref _stageCounts[(int)s]), Interlocked.Read(ref _stageTicks[(int)s]) / (double)TimeSpan.TicksPerMillisecond));

    /// <summary>snake_case, as in the metric's tag and the bench's JSON.</summary>
    public static string StageName(ServingStage stage) => stage switch
    {
        ServingStage.ResultRead => "result_read",
        ServingStage.BatchWait => "batch_wait",
        ServingStage.ResultWrite => "result_write",
        ServingStage.ReplySend => "reply_send",
        _ => stage.ToString().ToLowerInvariant(),
    };

    public long Replied => Interlocked.Read(ref _replied);
    public long Cached => Interlocked.Read(ref _cached);
    public long Rejected => Interlocked.Read(ref _rejected);
    public long Inferences => Interlocked.Read(ref _inferred);
    public long Batches => Interlocked.Read(ref _batches);
    public long Reloads => Interlocked.Read(ref _reloaded);
    public long Failures => Interlocked.Read(ref _failed);
    public long ModelLoadFailures => Interlocked.Read(ref _loadFailed);

    public void RecordReply(bool fromCache, double latencyMs)
    {
        Interlocked.Increment(ref _replied);
        if (fromCache) Interlocked.Increment(ref _cached);
        _requests.Add(1, new KeyValuePair<string, object?>("outcome", fromCache ? "cached" : "computed"));
        _latency.Record(latencyMs);
    }

    public void RecordRejection(string reason)
    {
        Interlocked.Increment(ref _rejected);
        _requests.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));
        _deadLetters.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    public void RecordFailure() { Interlocked.Increment(ref _failed); _failures.Add(1); }

    public void RecordBatch(int size, double computeMs)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _inferred, size);
        _inferences.Add(size);
        _batchSize.Record(size);
        _batchCompute.Record(computeMs);
    }

    public void RecordReload() { Interlocked.Increment(ref _reloaded); _reloads.Add(1); }

    public void RecordModelLoadFailure() { Interlocked.Increment(ref _loadFailed); _loadFailures.Add(1); }

    public void Dispose() => _meter.Dispose();
}
