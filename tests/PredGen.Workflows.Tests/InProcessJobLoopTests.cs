using System.Collections.Concurrent;
using System.Diagnostics;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Workflows.Local;

namespace PredGen.Workflows.Tests;

/// <summary>The one-machine worker loop (issue 14, item 10): a job that fails every attempt is given up and reported,
/// and the loop goes on serving the other jobs instead of dying (they would wait for the 6 h job timeout).</summary>
public sealed class InProcessJobLoopTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-loop-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static JobMessage Job(string id) => new()
    {
        JobId = id, Kind = JobKind.Train, Task = "sentiment", RunId = "run1", NotifyInstanceId = "retrain-sentiment-run1:" + id, Method = "PredGen", Seed = 1,
    };

    [Fact]
    public async Task A_job_that_throws_on_every_attempt_is_reported_failed_and_the_loop_runs_the_next_job()
    {
        var store = new FileSystemArtifactStore(_root);
        var executor = new FakeJobExecutor(store);
        executor.TransientFailures["stuck-s1"] = -1; // the storage never answers for this job: each attempt throws
        var reported = new ConcurrentDictionary<string, JobCompletion>();
        var jobs = new InProcessJobDispatcher(maxAttempts: 3);
        var quick = new TransientRetry { Attempts = 2, FirstDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(1) };
        await using (var loop = new InProcessJobLoop(jobs, store, executor, new CallbackCompletionSink((c, _) => { reported[c.JobId] = c; return Task.CompletedTask; }), retry: quick))
        {
            await jobs.DispatchAsync(Job("stuck-s1"));
            await WaitUntilAsync(() => executor.Executions.GetValueOrDefault("stuck-s1") >= 6 || reported.ContainsKey("stuck-s1"));
            await jobs.DispatchAsync(Job("predgen-s1")); // dispatched after the stuck job's last attempt
            await WaitUntilAsync(() => reported.ContainsKey("predgen-s1") && reported.ContainsKey("stuck-s1"));
        }

        Assert.True(reported.ContainsKey("predgen-s1"), "the loop died with the stuck job: the next job was never run");
        Assert.Equal(JobOutcome.Succeeded, reported["predgen-s1"].Outcome);
        var stuck = Assert.Contains("stuck-s1", (IDictionary<string, JobCompletion>)reported);
        Assert.Equal(JobOutcome.Failed, stuck.Outcome);
        Assert.StartsWith("gave up after 3 attempts", stuck.Error, StringComparison.Ordinal);
        Assert.Contains("RequestFailedException: simulated: the storage account is busy", stuck.Error, StringComparison.Ordinal);
        Assert.Equal(6, executor.Executions["stuck-s1"]); // 3 attempts of 2 tries each
        Assert.Equal(JobOutcome.Failed, JobCompletion.Parse((await store.ReadTextAsync(BlobLayout.JobResult("sentiment", "run1", "stuck-s1")))!).Outcome);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!condition() && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(10);
    }
}
