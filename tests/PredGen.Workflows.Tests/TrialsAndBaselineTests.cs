using Microsoft.DurableTask.Client;
using PredGen.Shared.Jobs;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests;

/// <summary>Issue 19 in the pipeline: learning-rate trials before the seed fan-out, and the classical baseline beside
/// the methods, on the in-process Durable Task engine.</summary>
public sealed class TrialsAndBaselineTests
{
    [Fact]
    public async Task Trials_run_before_training_and_every_seed_trains_with_its_methods_best_scoring_candidate()
    {
        await using var h = new RetrainHarness();
        // PredGen does best with LoRA at 3e-3; the others at full fine-tuning with 1e-3 (the fake's default landscape).
        h.Executor.ValidationScore = job => job.Method == "PredGen" && job.Settings.UseLora == true ? 0.97 : FakeJobExecutor.DefaultValidationScore(job);
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(60));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with { Seeds = 2, RunMine = false });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<RetrainResult>()!;
        var grid = TrialGrid.Default;
        Assert.Equal(3 * grid.Candidates.Count, result.Trials.Count);
        int trialSteps = grid.TrialSteps(TrainingDefaults.TotalSteps(new TrainingSettings(), result.Dataset.TrainRows));
        Assert.All(result.Trials, t => Assert.Equal(trialSteps, t.Steps));
        Assert.All(result.Trials.Where(t => t.Chosen), t => Assert.Equal(result.Trials.Where(x => x.Method == t.Method).Max(x => x.ValidationScore), t.ValidationScore));
        Assert.Equal(["Generator:0.001:full", "PredGen:0.003:lora", "Predictor:0.001:full"],
            result.Trials.Where(t => t.Chosen).Select(t => $"{t.Method}:{t.LearningRate}:{t.FineTuning}").Order(StringComparer.Ordinal));

        // The trial jobs carry their candidate and the short budget; every seed job gets its method's winner.
        var trialJob = h.Executor.Messages["trial-predgen-4"];
        Assert.Equal((3e-3, true, trialSteps, trialSteps), (trialJob.Settings.LearningRate, trialJob.Settings.UseLora, trialJob.Settings.Steps, trialJob.Settings.EvalEvery));
        foreach (var job in result.Jobs)
        {
            var settings = h.Executor.Messages[job.JobId].Settings;
            var expected = job.Method == "PredGen" ? (3e-3, true) : (1e-3, false);
            Assert.Equal(expected, (settings.LearningRate!.Value, settings.UseLora!.Value));
            Assert.Null(settings.Steps); // the full run, not the trial budget
        }

        // Every trial finished before the first seed job started.
        var order = h.Executor.Order;
        int lastTrial = order.Where(kv => kv.Key.StartsWith("trial-", StringComparison.Ordinal)).Max(kv => kv.Value.Finished);
        int firstSeed = result.Jobs.Min(j => order[j.JobId].Started);
        Assert.True(lastTrial < firstSeed, $"last trial finished at {lastTrial}, first seed job started at {firstSeed}");

        string markdown = (await h.Store.ReadTextAsync(result.Report.MarkdownPath))!;
        Assert.Contains("## Learning-rate trials", markdown, StringComparison.Ordinal);
        Assert.Contains("| PredGen | 0.003 | lora | " + trialSteps + " | 0.970 | **chosen** |", markdown, StringComparison.Ordinal);
        Assert.Contains("<h2>Learning-rate trials</h2>", (await h.Store.ReadTextAsync(result.Report.HtmlPath))!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fixed_learning_rate_skips_the_trials_and_every_seed_trains_at_it()
    {
        await using var h = new RetrainHarness();
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(60));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset) with { RunMine = false, Training = new TrainingSettings { LearningRate = 5e-4 } });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<RetrainResult>()!;
        Assert.Empty(result.Trials);
        Assert.DoesNotContain(h.Executor.Executions.Keys, id => id.StartsWith("trial-", StringComparison.Ordinal));
        Assert.All(result.Jobs, j => Assert.Equal(5e-4, h.Executor.Messages[j.JobId].Settings.LearningRate));
        Assert.Contains("No trials: the run fixed the learning rate at 0.0005.", (await h.Store.ReadTextAsync(result.Report.MarkdownPath))!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_baseline_runs_once_is_a_row_of_the_report_and_is_never_the_champion_even_when_it_scores_best()
    {
        await using var h = new RetrainHarness();
        h.Executor.BaselineAccuracy = 0.95; // above every LM method (PredGen 0.90)
        await h.StartAsync();
        string dataset = await h.UploadAsync("sentiment", "reviews.jsonl", RetrainOrchestrationTests.SentimentJsonl(60));

        var done = await h.RunAsync(RetrainHarness.Request("sentiment", dataset));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<RetrainResult>()!;
        var baseline = result.Baseline!;
        Assert.Equal((RetrainOrchestration.BaselineJobId, Methods.Baseline, true, 0.95), (baseline.JobId, baseline.Method, baseline.IsSucceeded, baseline.TestMetrics["accuracy"]));
        Assert.Equal(1, h.Executor.Executions[RetrainOrchestration.BaselineJobId]);
        Assert.Equal(JobKind.Baseline, h.Executor.Messages[RetrainOrchestration.BaselineJobId].Kind);
        Assert.DoesNotContain(result.Jobs, j => j.JobId == RetrainOrchestration.BaselineJobId);
        Assert.DoesNotContain("mine-" + RetrainOrchestration.BaselineJobId, h.Executor.Executions.Keys);

        Assert.True(result.Champion.Promote);
        Assert.Equal(("predgen-s1", 0.90), (result.Champion.CandidateJobId, result.Champion.CandidateValue));
        var pointer = ChampionPointer.Parse((await h.Store.ReadTextAsync(BlobLayout.Champion("sentiment")))!);
        Assert.Equal("predgen-s1", pointer.JobId);

        string markdown = (await h.Store.ReadTextAsync(result.Report.MarkdownPath))!;
        Assert.Contains("| *Baseline (classical floor)* | 1/1 | 0.950 | 0.930 |", markdown, StringComparison.Ordinal);
        Assert.Contains("No LM method beats the classical baseline", markdown, StringComparison.Ordinal);
        Assert.Contains("the best, PredGen, has accuracy 0.900 against the baseline's 0.950", markdown, StringComparison.Ordinal);
        string html = (await h.Store.ReadTextAsync(result.Report.HtmlPath))!;
        Assert.Contains("<tr class=\"floor\">", html, StringComparison.Ordinal);
        Assert.Contains("No LM method beats the classical baseline", html, StringComparison.Ordinal);
        Assert.DoesNotContain("validation_score", markdown, StringComparison.Ordinal); // a trial criterion, not a test metric
    }

    [Fact]
    public void Champion_selection_ignores_a_baseline_job_that_scores_best()
    {
        JobSummary Job(string id, string method, double accuracy) =>
            new(id, method, 1, JobSummary.Succeeded, null, new Dictionary<string, double> { ["accuracy"] = accuracy }, 1, "runs/t/r/jobs/" + id);

        var decision = ChampionSelection.Decide(Shared.Data.TaskKind.Classification,
            [Job("baseline", Methods.Baseline, 0.99), Job("predictor-s1", "Predictor", 0.70)], current: null, currentOnThisSplit: null);

        Assert.Equal(("predictor-s1", 0.70), (decision.CandidateJobId, decision.CandidateValue));
    }
}
