using System.Text;
using Microsoft.DurableTask.Client;
using PredGen.Shared.Jobs;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;
using PredGen.TestSupport;
using PredGen.Workflows.Retrain;

namespace PredGen.Integration.Tests.Pipeline;

[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class PipelineOnAzuriteTests(AzuriteFixture azurite)
{
    /// <summary>Two well separated classes; the words make the label learnable even for a tiny model.</summary>
    internal static string Reviews(int rows, double malformedFraction = 0, bool singleClass = false)
    {
        var sb = new StringBuilder();
        int malformed = (int)Math.Round(rows * malformedFraction);
        for (int i = 0; i < rows; i++)
        {
            if (i < malformed)
            {
                sb.Append("{\"text\": \"cut off ").Append(i).Append('\n');
                continue;
            }
            bool positive = singleClass || i % 2 == 0;
            sb.Append("{\"text\":\"").Append(positive ? "good great fine " : "bad awful poor ").Append(i).Append("\",\"label\":\"").Append(positive ? "pos" : "neg").Append("\"}\n");
        }
        return sb.ToString();
    }

    private static RetrainDefaults Tiny(params string[] methods) => new()
    {
        Methods = methods.Length == 0 ? Methods.All : methods,
        Training = new TrainingSettings { Steps = 4, BatchSize = 4, EvalEvery = 2, CheckpointEvery = 2, MaxTestRows = 16, MineSteps = 50 },
        JobPollSeconds = 10, JobTimeoutSeconds = 600,
    };

    [Fact]
    public async Task An_uploaded_dataset_goes_through_the_blob_trigger_to_a_report_and_a_champion_and_a_duplicate_event_starts_nothing()
    {
        await using var p = new AzuritePipeline(azurite, "reviews") { Defaults = Tiny() };
        await p.StartAsync();
        p.StartWorker();

        var first = await p.UploadAsync("reviews.jsonl", Reviews(60));
        var duplicate = await p.DeliverBlobEventAsync("reviews.jsonl"); // Event Grid delivers at least once

        Assert.True(first!.Started);
        Assert.False(duplicate!.Started);
        Assert.Equal(first.InstanceId, duplicate.InstanceId);
        var done = await p.WaitAsync(first.InstanceId, TimeSpan.FromMinutes(3));
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, done.FailureDetails?.ErrorMessage);
        var result = done.ReadOutputAs<RetrainResult>()!;
        Assert.Equal(["predictor-s1", "generator-s1", "predgen-s1"], result.Jobs.Select(j => j.JobId));
        Assert.All(result.Jobs, j => Assert.True(j.IsSucceeded, j.JobId + ": " + j.Error));
        Assert.All(result.Jobs, j => Assert.InRange(j.TestMetrics["accuracy"], 0, 1));
        Assert.True(await p.Store.ExistsAsync(result.Report.HtmlPath));
        Assert.True(await p.Store.ExistsAsync(result.Report.MarkdownPath));
        Assert.True(result.Champion.Promote, result.Champion.Reason);
        var champion = ChampionPointer.Parse((await p.Store.ReadTextAsync(BlobLayout.Champion(p.Task)))!);
        Assert.Equal(result.Champion.CandidateJobId, champion.JobId);
        Assert.NotEmpty(await p.Store.ListAsync(champion.ModelPath + "/"));
        Assert.True(await p.Store.ExistsAsync(BlobLayout.JobTestPredictions(p.Task, result.RunId, champion.JobId)));

        // the same bytes again, as a second upload event: still one run for this task
        Assert.False((await p.DeliverBlobEventAsync("reviews.jsonl"))!.Started);
        var runs = new List<OrchestrationMetadata>();
        await foreach (var i in p.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = "retrain-" + p.Task }))
            if (i.Name == nameof(RetrainOrchestration)) runs.Add(i);
        Assert.Single(runs);
    }

    [Fact]
    public async Task A_job_whose_worker_is_killed_mid_training_resumes_from_its_checkpoint_and_ends_exactly_like_an_uninterrupted_run()
    {
        var defaults = Tiny("PredGen") with { Training = new TrainingSettings { Steps = 30, BatchSize = 4, EvalEvery = 30, CheckpointEvery = 2, MaxTestRows = 16 } };
        // The same job, never interrupted: what the resumed one must reproduce (metrics and every step's losses).
        JobSummary straight;
        SortedDictionary<int, string> straightLosses;
        await using (var s = new AzuritePipeline(azurite, "straight") { Defaults = defaults })
        {
            await s.StartAsync();
            s.StartWorker();
            var run = (await s.UploadAsync("reviews.jsonl", Reviews(60)))!;
            var finished = await s.WaitAsync(run.InstanceId, TimeSpan.FromMinutes(3));
            Assert.True(finished.RuntimeStatus == OrchestrationRuntimeStatus.Completed, finished.FailureDetails?.ErrorMessage);
            straight = Assert.Single(finished.ReadOutputAs<RetrainResult>()!.Jobs);
            straightLosses = StepLosses((await s.Store.ReadTextAsync(BlobLayout.JobMetrics(s.Task, run.RunId, "predgen-s1")))!);
        }

        await using var p = new AzuritePipeline(azurite, "resume") { Defaults = defaults };
        await p.StartAsync();
        using var doomed = p.StartWorkerProcess(visibilitySeconds: 4);
        var start = (await p.UploadAsync("reviews.jsonl", Reviews(60)))!;
        string checkpoint = BlobLayout.Combine(BlobLayout.JobCheckpoints(p.Task, start.RunId, "predgen-s1"), "latest.json");

        // kill the worker as soon as it has mirrored a checkpoint and before it has a result
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await p.Store.ExistsAsync(checkpoint))
        {
            Assert.False(doomed.HasExited, "the worker process exited before writing a checkpoint");
            Assert.True(DateTime.UtcNow < deadline, "no checkpoint within 90 s");
            await Task.Delay(50);
        }
        doomed.Kill(entireProcessTree: true);
        await doomed.WaitForExitAsync();
        Assert.False(await p.Store.ExistsAsync(BlobLayout.JobResult(p.Task, start.RunId, "predgen-s1")), "the job finished before the kill; make it longer");

        p.StartWorker(visibility: TimeSpan.FromSeconds(4)); // the message reappears once the dead worker stops renewing it
        OrchestrationMetadata done;
        try
        {
            done = await p.WaitAsync(start.InstanceId, TimeSpan.FromMinutes(3));
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("no completion within 3 min: " + await p.DescribeJobAsync(start.RunId, "predgen-s1"));
            throw;
        }

        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, done.FailureDetails?.ErrorMessage);
        var job = Assert.Single(done.ReadOutputAs<RetrainResult>()!.Jobs);
        Assert.True(job.IsSucceeded, job.Error);
        Assert.True(job.ResumedFromStep > 0, $"resumed from step {job.ResumedFromStep}");
        Assert.Equal(straight.TestMetrics.OrderBy(kv => kv.Key), job.TestMetrics.OrderBy(kv => kv.Key));
        var resumedLosses = StepLosses((await p.Store.ReadTextAsync(BlobLayout.JobMetrics(p.Task, start.RunId, "predgen-s1")))!);
        Assert.Equal(30, straightLosses.Count);
        Assert.Equal(straightLosses, resumedLosses); // every step, before and after the kill, to the last digit
    }

    /// <summary>step -> "loss:l_w" from a job's metrics.jsonl; a step trained again after the resume keeps its last line.</summary>
    private static SortedDictionary<int, string> StepLosses(string metricsJsonl)
    {
        var losses = new SortedDictionary<int, string>();
        foreach (string line in metricsJsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var e = System.Text.Json.JsonDocument.Parse(line).RootElement;
            if (!e.TryGetProperty("loss", out var loss)) continue;
            losses[e.GetProperty("step").GetInt32()] = $"{loss.GetDouble():R}:{e.GetProperty("l_w").GetDouble():R}";
        }
        return losses;
    }

    [Fact]
    public async Task An_empty_file_fails_the_run_with_a_clear_message()
    {
        await using var p = new AzuritePipeline(azurite, "empty") { Defaults = Tiny("Predictor") };
        await p.StartAsync();

        var start = (await p.UploadAsync("empty.jsonl", ""))!;
        var done = await p.WaitAsync(start.InstanceId, TimeSpan.FromMinutes(1));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.StartsWith("Dataset rejected:", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_class_file_fails_the_run_and_keeps_its_statistics()
    {
        await using var p = new AzuritePipeline(azurite, "oneclass") { Defaults = Tiny("Predictor") };
        await p.StartAsync();

        var start = (await p.UploadAsync("one.jsonl", Reviews(40, singleClass: true)))!;
        var done = await p.WaitAsync(start.InstanceId, TimeSpan.FromMinutes(1));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.StartsWith("Dataset rejected:", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.True(await p.Store.ExistsAsync(BlobLayout.PreparedStats(p.Task, start.RunId)));
    }

    [Fact]
    public async Task A_file_with_30_percent_malformed_rows_trains_on_the_rest_and_quarantines_every_bad_row()
    {
        await using var p = new AzuritePipeline(azurite, "malformed") { Defaults = Tiny("Predictor") with { Training = Tiny().Training with { Steps = 2 } } };
        await p.StartAsync();
        p.StartWorker();

        var start = (await p.UploadAsync("dirty.jsonl", Reviews(100, malformedFraction: 0.3)))!;
        var done = await p.WaitAsync(start.InstanceId, TimeSpan.FromMinutes(2));

        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, done.FailureDetails?.ErrorMessage);
        var result = done.ReadOutputAs<RetrainResult>()!;
        Assert.Equal(30, result.Dataset.RejectedRows);
        Assert.Equal(70, result.Dataset.TrainRows + result.Dataset.ValidationRows + result.Dataset.TestRows);
        var rejected = (await p.Store.ReadTextAsync(BlobLayout.Rejected(p.Task, start.RunId)))!;
        Assert.Equal(30, rejected.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(Assert.Single(result.Jobs).IsSucceeded);
    }
}
