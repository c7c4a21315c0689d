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
    private readonly TimeSpan _batchTimeout;
    private readonly TimeSpan _shutdownTimeout;
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
        _batchTimeout = TimeSpan.FromSeconds(Math.Max(0.001, options.BatchTimeoutSeconds));
        _shutdownTimeout = TimeSpan.FromSeconds(Math.Max(0, options.ShutdownTimeoutSeconds));
        _thread = new Thread(Run) { IsBackground = true, Name = "predgen-inference" };
        _thread.Start();
    }

    public int Waiting => _queue.Count;

    /// <summary>The prediction of one input, computed in a batch; throws TimeoutException when no batch answered it
    /// within <see cref="ServingOptions.BatchTimeoutSeconds"/> (transient: the transport redelivers the request).</summary>
    public async Task<BatchedPrediction> PredictAsync(EngineInput input, bool withProbabilities, bool withText)
    {
        var result = new TaskCompletionSource<BatchedPrediction>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add(new Pending(input, withProbabilities, withText, result, Stopwatch.GetTimestamp()));
        try
        {
            return await result.Task.WaitAsync(_batchTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            result.TrySetCanceled(); // not yet taken into a batch: the inference thread skips it
            throw new TimeoutException(
                $"no batch answered the request within {_batchTimeout.TotalSeconds:0.###} s (Serving:BatchTimeoutSeconds); it is left for redelivery", e);
        }
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
                Take(batch, token);
            }
            catch (OperationCanceledException)
            {
                foreach (var p in batch) p.Result.TrySetCanceled(token);
                break;
            }
            batch.RemoveAll(p => p.Result.Task.IsCompleted); // given up on (batch timeout) while waiting
            if (batch.Count == 0) continue;
#pragma warning disable CA1031 // the inference thread must never die: its death would stop every later request
            try
            {
                Execute(batch);
            }
            catch (Exception e)
            {
                LogBatchFailed(_logger, e, batch.Count);
                foreach (var p in batch) p.Result.TrySetException(e);
            }
#pragma warning restore CA1031
        }
        while (_queue.TryTake(out var left)) left.Result.TrySetCanceled(token);
    }

    private void Take(List<Pending> batch, CancellationToken token)
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

    private void Execute(List<Pending> batch)
    {
        // Throws when no model is loaded (or the slot is gone): Run fails the batch's requests with that error.
        LoadedModel model = _slot.AcquireForBatch();
        try
        {
            try
            {
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
        finally
        {
            _slot.ReleaseBatch();
        }
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
        foreach (var p in batch)
        {
            _metrics.RecordStage(ServingStage.BatchWait, Stopwatch.GetElapsedTime(p.EnqueuedAt, started).TotalMilliseconds);
            _metrics.RecordStage(ServingStage.Compute, ms);
        }
        for (int i = 0; i < batch.Count; i++)
            batch[i].Result.TrySetResult(new BatchedPrediction(outputs[i], model.Identity, batch.Count));
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (!_thread.Join(_shutdownTimeout))
        {
            // A batch is still running: it finishes alone (its model is disposed by the slot when it ends), and the
            // queue it will look at next must stay usable until then, so it is left to the collector.
            LogShutdownWhileBatchRuns(_logger, _shutdownTimeout.TotalSeconds);
            return;
        }
        _queue.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping: a batch was still running after {Seconds} s (Serving:ShutdownTimeoutSeconds); it finishes alone and its model is released when it does")]
    private static partial void LogShutdownWhileBatchRuns(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "A batch of {Count} failed (a batch of several is retried one request at a time)")]
    private static partial void LogBatchFailed(ILogger logger, Exception error, int count);
}
