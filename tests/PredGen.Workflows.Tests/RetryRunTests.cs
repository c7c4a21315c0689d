using Microsoft.DurableTask.Client;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests;

/// <summary>A failed run is retried on the same content, under the same instance id (issue 13, item 8): an upload of
/// the same bytes never starts it again, so RetrainStarter.RetryFailedAsync (POST /api/runs/{id}/retry) does.</summary>
public sealed class RetryRunTests
{
    [Fact]
    public async Task A_run_with_a_failed_job_is_retried_and_only_the_failed_job_trains_again()
    {
        await using var h = new RetrainHarness();
        h.Executor.FailingJobs.Add("predgen-s1");
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(60));
        var request = RetrainHarness.Request("sentiment", dataset) with { RunMine = false };
        var first = await h.RunAsync(request);
        Assert.Equal("completed_with_failures", first.ReadOutputAs<RetrainResult>()!.Outcome);
        var trainedOnce = h.Executor.Executions.ToDictionary(e => e.Key, e => e.Value);

        h.Executor.FailingJobs.Clear(); // the out-of-memory was transient
        var retry = await RetrainStarter.RetryFailedAsync(h.Client, h.Store, first.InstanceId);

        Assert.Equal(new RetrainRetry(first.InstanceId, true, "Completed", 1), retry);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var second = await h.Client.WaitForInstanceCompletionAsync(first.InstanceId, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, second.RuntimeStatus);
        Assert.Equal("completed", second.ReadOutputAs<RetrainResult>()!.Outcome);
        Assert.Equal(2, h.Executor.Executions["predgen-s1"]);
        foreach (var (job, count) in trainedOnce.Where(e => e.Key != "predgen-s1"))
            Assert.True(h.Executor.Executions[job] == count, $"{job} ran again although it had succeeded");
    }

    [Fact]
    public async Task A_failed_run_starts_again_with_the_same_request_and_a_retry_of_the_same_upload_does_not()
    {
        await using var h = new RetrainHarness();
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "one-class.jsonl", RetrainOrchestrationTests.SentimentJsonl(40, singleClass: true));
        var request = RetrainHarness.Request("sentiment", dataset);
        var failed = await h.RunAsync(request);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);

        // The same bytes again: the content-hash instance id says "exists", nothing starts.
        var again = await RetrainStarter.StartAsync(h.Client, request);
        Assert.False(again.Started);
        Assert.Equal("Failed", again.ExistingStatus);

        // The file is fixed in place (same path, the run's recorded request): the retry reads it anew.
        await h.Store.WriteTextAsync(dataset, RetrainOrchestrationTests.SentimentJsonl(60));
        var retry = await RetrainStarter.RetryFailedAsync(h.Client, h.Store, failed.InstanceId);
        Assert.True(retry!.Restarted);
        Assert.Equal("Failed", retry.Status);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var second = await h.Client.WaitForInstanceCompletionAsync(failed.InstanceId, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, second.RuntimeStatus);
        var input = second.ReadInputAs<RetrainRequest>()!;
        Assert.Equal((request.Task, request.DatasetPath, request.RunId), (input.Task, input.DatasetPath, input.RunId));
    }

    [Fact]
    public async Task A_run_that_succeeded_is_not_retried_and_an_unknown_one_is_not_found()
    {
        await using var h = new RetrainHarness();
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(40));
        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with { Methods = ["PredGen"], RunMine = false });
        Assert.Equal("completed", done.ReadOutputAs<RetrainResult>()!.Outcome);

        var retry = await RetrainStarter.RetryFailedAsync(h.Client, h.Store, done.InstanceId);

        Assert.False(retry!.Restarted);
        Assert.NotNull(retry.Reason);
        Assert.Null(await RetrainStarter.RetryFailedAsync(h.Client, h.Store, "retrain-sentiment-nosuchrun"));
        Assert.True(await h.Store.ExistsAsync(BlobLayout.ReportMarkdown("sentiment", "run1")));
    }
}
