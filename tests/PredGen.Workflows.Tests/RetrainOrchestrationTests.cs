using System.Text;
using Microsoft.DurableTask.Client;
using PredGen.Shared.Jobs;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests;

public sealed class RetrainOrchestrationTests
{
    internal static string SentimentJsonl(int rows, int malformedEvery = 0, bool singleClass = false)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < rows; i++)
        {
            if (malformedEvery > 0 && i % malformedEvery == 0) { sb.Append("{\"text\": \"broken row ").Append(i).Append("\", \"label\": \n"); continue; }
            string label = singleClass || i % 2 == 0 ? "positive" : "negative";
            sb.Append("{\"text\":\"review number ").Append(i).Append(" is ").Append(label == "positive" ? "great" : "awful").Append("\",\"label\":\"").Append(label).Append("\"}\n");
        }
        return sb.ToString();
    }

    [Fact]
    public async Task A_run_trains_every_method_analyses_reports_and_promotes_the_best_model()
    {
        await using var h = new RetrainHarness();
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", SentimentJsonl(60));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<RetrainResult>()!;
        Assert.Equal("completed", result.Outcome);
        Assert.Equal(["predictor-s1", "generator-s1", "predgen-s1"], result.Jobs.Select(j => j.JobId));
        Assert.Equal(6, result.Mine.Count); // token + pooled for 3 models
        Assert.All(result.Mine.Where(m => m.Representation == "token"), m => Assert.Equal((false, 48, 10), (m.Estimable, m.Rows, m.HeldOutRows)));
        Assert.All(result.Mine.Where(m => m.Representation == "pooled"), m => Assert.Equal((true, 0.35, 0.45, 1200), (m.Estimable, m.CiLow, m.CiHigh, m.Rows)));
        Assert.True(result.Champion.Promote);
        Assert.Equal("predgen-s1", result.Champion.CandidateJobId);
        Assert.Equal(0.90, result.Champion.CandidateValue);
        var pointer = ChampionPointer.Parse((await h.Store.ReadTextAsync(BlobLayout.Champion("sentiment")))!);
        Assert.Equal(BlobLayout.JobModel("sentiment", "run1", "predgen-s1"), pointer.ModelPath);
        Assert.True(await h.Store.ExistsAsync(result.Report.HtmlPath));
        Assert.True(await h.Store.ExistsAsync(result.Report.MarkdownPath));
        Assert.True(await h.Store.ExistsAsync(BlobLayout.RunSummary("sentiment", "run1")));
        var status = done.ReadCustomStatusAs<RetrainStatus>()!;
        Assert.Equal(new RetrainStatus(RetrainStages.Completed, 3, 3, 0), status);
    }

    [Fact]
    public async Task Every_training_job_carries_the_prepared_label_set_and_each_mine_job_names_the_model_it_analyses()
    {
        await using var h = new RetrainHarness();
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", SentimentJsonl(60));

        var result = (await h.RunAsync(RetrainHarness.Request("sentiment", dataset))).ReadOutputAs<RetrainResult>()!;

        var trainJobs = h.Executor.Messages.Values.Where(m => m.Kind == JobKind.Train).ToList();
        Assert.NotEmpty(trainJobs);
        Assert.All(trainJobs, m => Assert.Equal(["negative", "positive"], m.AnswerFormat!.Labels!));
        Assert.Equal(result.Dataset.Labels, trainJobs[0].AnswerFormat!.Labels);
        var mine = h.Executor.Messages.Values.Where(m => m.Kind == JobKind.Mine).OrderBy(m => m.JobId, StringComparer.Ordinal).ToList();
        Assert.Equal(["generator-s1", "predgen-s1", "predictor-s1"], mine.Select(m => m.SourceJobId));
        Assert.Equal(result.Jobs.Select(j => j.JobId).Order(StringComparer.Ordinal), result.Mine.Select(m => m.JobId).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_failed_job_is_marked_and_the_others_still_reach_the_report_and_the_champion()
    {
        await using var h = new RetrainHarness();
        h.Executor.FailingJobs.Add("predgen-s1");
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", SentimentJsonl(60));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with { Seeds = 2 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<RetrainResult>()!;
        Assert.Equal("completed_with_failures", result.Outcome);
        Assert.Equal(6, result.Jobs.Count);
        var failed = Assert.Single(result.Jobs, j => !j.IsSucceeded);
        Assert.Equal("predgen-s1", failed.JobId);
        Assert.Contains("simulated out-of-memory", failed.Error, StringComparison.Ordinal);
        Assert.Equal("predgen-s2", result.Champion.CandidateJobId); // the same method's other seed wins
        Assert.Contains("| predgen-s1 | PredGen | 1 | **FAILED** |", await h.Store.ReadTextAsync(result.Report.MarkdownPath), StringComparison.Ordinal);
        Assert.Equal(new RetrainStatus(RetrainStages.Completed, 6, 6, 1), done.ReadCustomStatusAs<RetrainStatus>());
    }

    [Fact]
    public async Task A_lost_completion_event_is_recovered_by_the_status_poll()
    {
        await using var h = new RetrainHarness { DropCompletionEvents = true };
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", SentimentJsonl(40));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with { Methods = ["PredGen"], RunMine = false, JobPollSeconds = 1 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("completed", done.ReadOutputAs<RetrainResult>()!.Outcome);
    }

    [Fact]
    public async Task A_single_class_file_fails_the_run_clearly_and_keeps_its_rows()
    {
        await using var h = new RetrainHarness();
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "one-class.jsonl", SentimentJsonl(40, singleClass: true));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.StartsWith("Dataset rejected:", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(h.Executor.Executions);
        Assert.Equal(RetrainStages.Rejected, done.ReadCustomStatusAs<RetrainStatus>()!.Stage);
        Assert.True(await h.Store.ExistsAsync(BlobLayout.PreparedStats("sentiment", "run1")));
    }

    [Fact]
    public async Task A_champion_that_scores_better_on_the_new_test_split_is_kept()
    {
        await using var h = new RetrainHarness();
        h.Executor.ChampionAccuracyOnNewSplit = 0.95;
        await h.StartAsync();
        var old = new ChampionPointer("sentiment", "old", "predgen-s1", "PredGen", BlobLayout.JobModel("sentiment", "old", "predgen-s1"), "accuracy", 0.6, DateTimeOffset.UnixEpoch);
        await h.Store.WriteTextAsync(BlobLayout.Champion("sentiment"), old.ToJson());
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", SentimentJsonl(60));

        var result = (await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with { RunMine = false })).ReadOutputAs<RetrainResult>()!;

        Assert.False(result.Champion.Promote);
        Assert.Equal(0.95, result.Champion.CurrentValue); // scored on this run's split, not the recorded 0.6
        Assert.Equal("old", ChampionPointer.Parse((await h.Store.ReadTextAsync(BlobLayout.Champion("sentiment")))!).RunId);
        Assert.Equal(1, h.Executor.Executions[RetrainOrchestration.ChampionEvaluationJobId]);
    }
}
