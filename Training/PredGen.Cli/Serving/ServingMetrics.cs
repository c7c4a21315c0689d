using System.Diagnostics.Metrics;

namespace PredGen.Cli.Serving;

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
    }

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
