using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Storage.Queues;
using PredGen.Shared.Jobs;
using PredGen.TestSupport;

namespace PredGen.Shared.Tests;

/// <summary>The storage-queue worker loop on Azurite (issue 14, item 10): a handler that throws does not stop the
/// worker, and a worker that loses its message while the job runs stops that job (another worker has it).</summary>
[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class StorageQueueJobSourceTests(AzuriteFixture azurite)
{
    private static JobMessage Job(string id) => new()
    {
        JobId = id, Kind = JobKind.Train, Task = "sentiment", RunId = "run1", NotifyInstanceId = "retrain-sentiment-run1:" + id, Method = "PredGen", Seed = 1,
    };

    private async Task<QueueClient> NewQueueAsync()
    {
        var queue = azurite.CreateQueueServiceClient().GetQueueClient("jobs-" + Guid.NewGuid().ToString("N")[..8]);
        await queue.CreateAsync();
        return queue;
    }

    [Fact]
    public async Task A_handler_that_throws_leaves_its_job_for_redelivery_and_the_worker_goes_on_with_the_next_job()
    {
        var queue = await NewQueueAsync();
        await new StorageQueueJobDispatcher(queue).DispatchAsync(Job("bad-s1"));
        await new StorageQueueJobDispatcher(queue).DispatchAsync(Job("good-s1"));
        var handled = new ConcurrentQueue<string>();
        var source = new StorageQueueJobSource(queue, TimeSpan.FromSeconds(1), pollInterval: TimeSpan.FromMilliseconds(50));
        using var stop = new CancellationTokenSource();

        var worker = source.RunAsync((job, _) =>
        {
            handled.Enqueue(job.JobId);
            // The first delivery of bad-s1 fails (a bug, a full disk); its redelivery works.
            return job.JobId == "bad-s1" && handled.Count(j => j == "bad-s1") == 1 ? throw new InvalidOperationException("disk full") : Task.CompletedTask;
        }, stop.Token);
        await WaitUntilAsync(() => handled.Count(j => j == "bad-s1") == 2 && handled.Contains("good-s1") || worker.IsCompleted);
        bool stillRunning = !worker.IsCompleted;
        await stop.CancelAsync();
        await worker;

        Assert.True(stillRunning, "one handler exception stopped the worker");
        Assert.Equal(["bad-s1", "good-s1", "bad-s1"], handled); // redelivered once the 1 s visibility ran out
        Assert.Equal(1, source.FailedHandlers);
        Assert.Empty((await queue.PeekMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task A_worker_that_loses_its_message_while_the_job_runs_stops_the_job_and_keeps_serving()
    {
        var queue = await NewQueueAsync();
        await new StorageQueueJobDispatcher(queue).DispatchAsync(Job("predgen-s1"));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var source = new StorageQueueJobSource(queue, TimeSpan.FromSeconds(3), pollInterval: TimeSpan.FromMilliseconds(50));
        using var stop = new CancellationTokenSource();
        var clock = new Stopwatch();

        var worker = source.RunAsync(async (_, ct) =>
        {
            started.TrySetResult();
            try { await Task.Delay(Timeout.Infinite, ct); } // training
            finally { stopped.TrySetResult(clock.Elapsed); }
        }, stop.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // The message stops being this worker's: here it is removed; in production, its visibility ran out during a
        // stall and another worker received it (a new pop receipt). Either way the next renewal is refused.
        clock.Start();
        await queue.ClearMessagesAsync();
        var stoppedAfter = await stopped.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        bool stillRunning = !worker.IsCompleted;
        await stop.CancelAsync();
        await worker;

        Assert.InRange(stoppedAfter, TimeSpan.Zero, TimeSpan.FromSeconds(2)); // the next renewal (every 1 s) found out
        Assert.Equal(1, source.LostMessages);
        Assert.Equal(0, source.FailedHandlers);
        Assert.True(stillRunning, "losing one message stopped the worker");
    }

    [Fact]
    public async Task A_job_delivered_too_often_goes_to_the_poison_queue_and_is_reported_failed()
    {
        var queue = await NewQueueAsync();
        await new StorageQueueJobDispatcher(queue).DispatchAsync(Job("crashing-s1"));
        var givenUp = new TaskCompletionSource<(JobMessage Job, string Reason)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var source = new StorageQueueJobSource(queue, TimeSpan.FromSeconds(1), maxDequeueCount: 2, pollInterval: TimeSpan.FromMilliseconds(50),
            onPoisoned: (job, reason, _) => { givenUp.TrySetResult((job, reason)); return Task.CompletedTask; });
        using var stop = new CancellationTokenSource();

        var worker = source.RunAsync((_, _) => throw new InvalidOperationException("the process would crash here"), stop.Token);
        var (job, reason) = await givenUp.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await stop.CancelAsync();
        await worker;

        Assert.Equal("crashing-s1", job.JobId);
        Assert.Contains("delivered 3 times", reason, StringComparison.Ordinal);
        Assert.Contains(queue.Name + "-poison", reason, StringComparison.Ordinal);
        Assert.Equal(2, source.FailedHandlers);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!condition() && waited.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(20);
    }
}
