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
}
