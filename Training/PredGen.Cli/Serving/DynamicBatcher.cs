using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Predictions;

namespace PredGen.Cli.Serving;

/// <summary>A computed prediction and the model that computed it.</summary>
public sealed record BatchedPrediction(EnginePrediction Prediction, ServedModel Model, int BatchSize);

/// <summary>
/// Dynamic batching on one inference thread: a batch starts with the first waiting request and closes when it holds
/// <see cref="ServingOptions.MaxBatchSize"/> requests or that first request has waited
/// <see cref="ServingOptions.MaxBatchWaitMs"/>; whatever is already queued joins without waiting. One thread, because
/// the model is not thread-safe and libtorch parallelises inside each batch anyway.
/// </summary>
public sealed partial class DynamicBatcher : IDisposable
{
    private sealed record Pending(EngineInput Input, bool WithProbabilities, bool WithText, TaskCompletionSource<BatchedPrediction> Result, long EnqueuedAt);

    private readonly BlockingCollection<Pending> _queue = new(new ConcurrentQueue<Pending>());
    private readonly ServingModelSlot _slot;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _maxBatch;
    private readonly TimeSpan _maxWait;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public DynamicBatcher(ServingModelSlot slot, ServingOptions options, ServingMetrics metrics, ILogger<DynamicBatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _slot = slot;
        _metrics = metrics;
        _logger = logger;
        _maxBatch = Math.Max(1, options.MaxBatchSize);
        _maxWait = TimeSpan.FromMilliseconds(Math.Max(0, options.MaxBatchWaitMs));
        _thread = new Thread(Run) { IsBackground = true, Name = "predgen-inference" };
        _thread.Start();
    }

    public int Waiting => _queue.Count;

    public Task<BatchedPrediction> PredictAsync(EngineInput input, bool withProbabilities, bool withText)
    {
        var result = new TaskCompletionSource<BatchedPrediction>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add(new Pending(input, withProbabilities, withText, result, Stopwatch.GetTimestamp()));
        return result.Task;
    }

    private void Run()
    {
        var batch = new List<Pending>(_maxBatch);
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            batch.Clear();
            try
            {
                batch.Add(_queue.Take(token));
                while (batch.Count < _maxBatch)
                {
                    var remaining = _maxWait - Stopwatch.GetElapsedTime(batch[0].EnqueuedAt);
                    if (_queue.TryTake(out var next)) { batch.Add(next); continue; }
                    if (remaining <= TimeSpan.Zero || !_queue.TryTake(out next, (int)Math.Ceiling(remaining.TotalMilliseconds), token)) break;
                    batch.Add(next!);
                }
            }
            catch (OperationCanceledException)
            {
                foreach (var p in batch) p.Result.TrySetCanceled(token);
                break;
            }
            Execute(batch);
        }
        while (_queue.TryTake(out var left)) left.Result.TrySetCanceled(token);
    }

    private void Execute(List<Pending> batch)
    {
        LoadedModel model;
        try
        {
            model = _slot.AcquireForBatch();
            Complete(model, batch);
            return;
        }
#pragma warning disable CA1031 // the failure belongs to these requests (their transport redelivers them), not to the thread
        catch (Exception e) when (batch.Count == 1)
        {
            LogBatchFailed(_logger, e, 1);
            batch[0].Result.TrySetException(e);
            return;
        }
        catch (Exception e)
        {
            // One bad input must not fail its batch-mates (they would be redelivered into the same fate): run each alone.
            LogBatchFailed(_logger, e, batch.Count);
            model = _slot.AcquireForBatch();
        }
        foreach (var single in batch)
        {
            try
            {
                Complete(model, [single]);
            }
            catch (Exception e)
            {
                single.Result.TrySetException(e);
            }
        }
#pragma warning restore CA1031
    }

    private void Complete(LoadedModel model, List<Pending> batch)
    {
        bool probabilities = batch.Exists(p => p.WithProbabilities);
        bool text = batch.Exists(p => p.WithText);
        long started = Stopwatch.GetTimestamp();
        var outputs = model.Engine.PredictBatch(batch.ConvertAll(p => p.Input), probabilities, text);
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (outputs.Count != batch.Count)
            throw new InvalidOperationException($"the engine returned {outputs.Count} predictions for a batch of {batch.Count}");
        _metrics.RecordBatch(batch.Count, ms);
        for (int i = 0; i < batch.Count; i++)
            batch[i].Result.TrySetResult(new BatchedPrediction(outputs[i], model.Identity, batch.Count));
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(30));
        _queue.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A batch of {Count} failed (a batch of several is retried one request at a time)")]
    private static partial void LogBatchFailed(ILogger logger, Exception error, int count);
}
