using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Serving;
using PredGen.Shared.Models;

namespace PredGen.Cli.Tests.Serving;

public sealed class DynamicBatcherTests
{
    private static (DynamicBatcher Batcher, ScriptedEngine Engine, ServingModelSlot Slot) Start(int maxBatch, int maxWaitMs, int computeMs = 0)
    {
        var slot = new ServingModelSlot();
        var engine = new ScriptedEngine("job-a", computeMs);
        slot.Publish(new LoadedModel(engine, new ChampionPointer("t", "r", "job-a", "PredGen", "runs/t/r/jobs/job-a/model", "accuracy", 1, DateTimeOffset.UnixEpoch)));
        var options = new ServingOptions { Task = "t", MaxBatchSize = maxBatch, MaxBatchWaitMs = maxWaitMs };
        return (new DynamicBatcher(slot, options, new ServingMetrics(), NullLogger<DynamicBatcher>.Instance), engine, slot);
    }

    [Fact]
    public async Task Twenty_waiting_requests_run_as_batches_of_at_most_the_limit()
    {
        var (batcher, engine, slot) = Start(maxBatch: 8, maxWaitMs: 200, computeMs: 20);
        using (batcher)
        using (slot)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => batcher.PredictAsync(new EngineInput("good " + i, null), true, false)));

            Assert.All(results, r => Assert.Equal("positive", r.Prediction.Label));
            Assert.Equal(20, engine.Rows);
            Assert.All(engine.BatchSizes, size => Assert.InRange(size, 1, 8));
            Assert.True(engine.Batches <= 4, $"{engine.Batches} batches: {string.Join(",", engine.BatchSizes)}");
        }
    }

    [Fact]
    public async Task A_lone_request_waits_for_company_up_to_the_wait_limit_then_runs_alone()
    {
        var (batcher, _, slot) = Start(maxBatch: 32, maxWaitMs: 50);
        using (batcher)
        using (slot)
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var result = await batcher.PredictAsync(new EngineInput("good", null), true, false);

            Assert.Equal(1, result.BatchSize);
            Assert.True(stopwatch.ElapsedMilliseconds >= 45, $"ran after {stopwatch.ElapsedMilliseconds} ms, before the 50 ms wait was over");
        }
    }

    [Fact]
    public async Task One_failing_input_fails_alone_and_its_batch_mates_are_answered()
    {
        var (batcher, engine, slot) = Start(maxBatch: 4, maxWaitMs: 100);
        using (batcher)
        using (slot)
        {
            var good = batcher.PredictAsync(new EngineInput("good", null), true, false);
            var bad = batcher.PredictAsync(new EngineInput("explode", null), true, false);
            var other = batcher.PredictAsync(new EngineInput("meh", null), true, false);

            Assert.Equal("positive", (await good).Prediction.Label);
            Assert.Equal("negative", (await other).Prediction.Label);
            await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
            Assert.Equal(2, engine.Rows);
        }
    }

    [Fact]
    public async Task A_batch_with_no_model_loaded_fails_its_requests_and_the_inference_thread_lives_on()
    {
        var slot = new ServingModelSlot();
        using var metrics = new ServingMetrics();
        var options = new ServingOptions { Task = "t", MaxBatchSize = 4, MaxBatchWaitMs = 100 };
        using var batcher = new DynamicBatcher(slot, options, metrics, NullLogger<DynamicBatcher>.Instance);
        using (slot)
        {
            // Two requests in one batch: the batch fails, then each alone fails again (still no model).
            var first = batcher.PredictAsync(new EngineInput("good 1", null), true, false);
            var second = batcher.PredictAsync(new EngineInput("good 2", null), true, false);
            var errors = await Task.WhenAll(Assert.ThrowsAsync<InvalidOperationException>(() => first), Assert.ThrowsAsync<InvalidOperationException>(() => second));
            var engine = new ScriptedEngine("job-late");
            slot.Publish(new LoadedModel(engine, new ChampionPointer("t", "r", "job-late", "PredGen", "m", "accuracy", 1, DateTimeOffset.UnixEpoch)));
            var later = await batcher.PredictAsync(new EngineInput("good 3", null), true, false).WaitAsync(TimeSpan.FromSeconds(10));

            Assert.All(errors, e => Assert.Contains("no model", e.Message, StringComparison.Ordinal));
            Assert.Equal("positive", later.Prediction.Label);
        }
    }

    [Fact]
    public async Task A_batch_slower_than_the_batch_timeout_fails_its_requests_with_a_timeout_naming_the_setting()
    {
        var (batcher, engine, slot) = Start(maxBatch: 4, maxWaitMs: 0);
        batcher.Dispose();
        slot.Dispose();
        slot = new ServingModelSlot();
        engine = new ScriptedEngine("job-a");
        slot.Publish(new LoadedModel(engine, new ChampionPointer("t", "r", "job-a", "PredGen", "m", "accuracy", 1, DateTimeOffset.UnixEpoch)));
        var options = new ServingOptions { Task = "t", MaxBatchSize = 4, MaxBatchWaitMs = 0, BatchTimeoutSeconds = 0.5 };
        using var metrics = new ServingMetrics();
        using (batcher = new DynamicBatcher(slot, options, metrics, NullLogger<DynamicBatcher>.Instance))
        using (slot)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<TimeoutException>(() => batcher.PredictAsync(new EngineInput("slow one", null), true, false));

            Assert.InRange(started.Elapsed.TotalSeconds, 0.4, 2.5);
            Assert.Contains("Serving:BatchTimeoutSeconds", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Shutdown_during_a_batch_that_outlasts_the_shutdown_timeout_never_disposes_the_model_under_it()
    {
        var slot = new ServingModelSlot();
        var engine = new ScriptedEngine("job-a");
        slot.Publish(new LoadedModel(engine, new ChampionPointer("t", "r", "job-a", "PredGen", "m", "accuracy", 1, DateTimeOffset.UnixEpoch)));
        var options = new ServingOptions { Task = "t", MaxBatchSize = 4, MaxBatchWaitMs = 0, ShutdownTimeoutSeconds = 0.2 };
        using var metrics = new ServingMetrics();
        var batcher = new DynamicBatcher(slot, options, metrics, NullLogger<DynamicBatcher>.Instance);
        var running = batcher.PredictAsync(new EngineInput("slow but good", null), true, false);
        while (engine.Started == 0) await Task.Delay(10);

        batcher.Dispose(); // the host stops: the batch is still running after the shutdown timeout ...
        slot.Dispose();    // ... and the container disposes the slot next, as the host's service provider does
        bool disposedDuringBatch = engine.Disposed;
        var result = await running.WaitAsync(TimeSpan.FromSeconds(10));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!engine.Disposed && waited.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(10);

        Assert.False(disposedDuringBatch);
        Assert.Equal("positive", result.Prediction.Label); // the batch finished on a live model
        Assert.True(engine.Disposed); // and the model was released as soon as it did
    }
}
