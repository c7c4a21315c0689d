using Microsoft.DurableTask.Client;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests;

/// <summary>A job's timeout counts from its start, not from its dispatch (issue 13, item 5): the in-process worker
/// runs one job at a time, so jobs of a fan-out wait in the queue as they would behind the trainer's parallelism.</summary>
public sealed class JobTimeoutTests
{
    [Fact]
    public async Task Jobs_that_wait_in_the_queue_longer_than_the_timeout_are_not_failed_for_waiting()
    {
        await using var h = new RetrainHarness(); // one job at a time
        h.Executor.DurationOf = _ => TimeSpan.FromSeconds(1.2);
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(40));

        // Three seeds of 1.2 s each, one after the other: the third waits 2.4 s, and finishes 3.6 s after dispatch.
        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with
        {
            Methods = ["PredGen"], Seeds = 3, RunMine = false, JobTimeoutSeconds = 3, JobPollSeconds = 1,
        }, TimeSpan.FromSeconds(90));

        var result = done.ReadOutputAs<RetrainResult>()!;
        Assert.True(result.Outcome == "completed", string.Join("; ", result.Jobs.Where(j => !j.IsSucceeded).Select(j => j.JobId + ": " + j.Error)));
        Assert.True(await h.Store.ExistsAsync(BlobLayout.JobStarted("sentiment", "run1", "predgen-s3")));
    }

    [Fact]
    public async Task A_job_that_runs_past_the_timeout_from_its_start_is_failed()
    {
        await using var h = new RetrainHarness();
        h.Executor.DurationOf = job => job.JobId == "predgen-s1" ? TimeSpan.FromSeconds(6) : TimeSpan.Zero;
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(40));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with
        {
            Methods = ["PredGen"], Seeds = 2, RunMine = false, JobTimeoutSeconds = 2, JobPollSeconds = 1,
        }, TimeSpan.FromSeconds(90));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var failed = Assert.Single(done.ReadOutputAs<RetrainResult>()!.Jobs, j => !j.IsSucceeded);
        Assert.Equal("predgen-s1", failed.JobId);
        Assert.Contains("no result within 2 s of its start", failed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_no_worker_starts_within_the_queue_timeout_is_failed()
    {
        await using var h = new RetrainHarness();
        // Whichever seed the one worker takes first holds it for 5 s; the other waits in the queue past 2 s. (The
        // dispatch order of a fan-out is not fixed: on a loaded CI machine seed 2 can start first.)
        int seedJobsStarted = 0;
        h.Executor.DurationOf = job => job.JobId.StartsWith("predgen-s", StringComparison.Ordinal) && Interlocked.Increment(ref seedJobsStarted) == 1
            ? TimeSpan.FromSeconds(5) : TimeSpan.Zero;
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(40));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with
        {
            Methods = ["PredGen"], Seeds = 2, RunMine = false, JobTimeoutSeconds = 60, JobQueueTimeoutSeconds = 2, JobPollSeconds = 1,
        }, TimeSpan.FromSeconds(90));

        var jobs = done.ReadOutputAs<RetrainResult>()!.Jobs;
        var failed = Assert.Single(jobs, j => !j.IsSucceeded);
        Assert.StartsWith("predgen-s", failed.JobId, StringComparison.Ordinal);
        Assert.Single(jobs, j => j.IsSucceeded && j.JobId.StartsWith("predgen-s", StringComparison.Ordinal));
        Assert.Contains("no worker started it within 2 s", failed.Error, StringComparison.Ordinal);
    }
}
