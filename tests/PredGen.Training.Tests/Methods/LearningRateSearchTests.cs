using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Training.Methods;
using PredGen.Training.Methods.Tuning;

namespace PredGen.Training.Tests.Methods;

/// <summary>`predgen train` without --lr: one short trial per candidate of the shared grid, the best validation score
/// chosen by the pipeline's rule, each trial resumable from its folder.</summary>
public sealed class LearningRateSearchTests
{
    [Fact]
    public void The_search_tries_every_candidate_of_the_grid_and_chooses_the_best_validation_score()
    {
        string outDir = MethodFixtures.NewOutput("search");
        var options = MethodFixtures.Fast(MethodKind.Predictor, TaskKind.Classification, steps: 40);

        var (chosen, trials) = LearningRateSearch.Search(options, MethodFixtures.Data(TaskKind.Classification), MethodFixtures.BaseModel, outDir);

        var grid = TrialGrid.Default.Candidates;
        Assert.Equal(grid.Select(c => (c.LearningRate, c.FineTuning)), trials.Select(t => (t.LearningRate, t.FineTuning)));
        Assert.All(trials, t => Assert.Equal(TrialGrid.Default.TrialSteps(40), t.Steps));
        var winner = Assert.Single(trials, t => t.Chosen);
        Assert.Equal(trials.Max(t => t.ValidationScore), winner.ValidationScore);
        Assert.Equal(trials.First(t => t.ValidationScore == winner.ValidationScore), winner); // ties: the earlier candidate
        Assert.Equal((winner.LearningRate, winner.FineTuning == "lora" ? FineTuning.Lora : FineTuning.Full), (chosen.LearningRate, chosen.FineTuning));
        Assert.Equal(options with { LearningRate = chosen.LearningRate, FineTuning = chosen.FineTuning }, chosen);

        // A trial scores validation only: no test predictions, no saved model, no resumable state left behind.
        foreach (var dir in Directory.GetDirectories(Path.Combine(outDir, LearningRateSearch.TrialsDirectoryName)))
        {
            Assert.True(File.Exists(Path.Combine(dir, Trainer.MetricsFileName)));
            Assert.False(Directory.Exists(Path.Combine(dir, Trainer.ModelDirectoryName)));
            Assert.False(Directory.Exists(Path.Combine(dir, Trainer.CheckpointsDirectoryName)));
            Assert.False(File.Exists(Path.Combine(dir, Trainer.TestPredictionsFileName)));
        }
    }

    [Fact]
    public void A_search_run_again_reuses_its_finished_trials()
    {
        string outDir = MethodFixtures.NewOutput("search-resume");
        var options = MethodFixtures.Fast(MethodKind.Predictor, TaskKind.Classification, steps: 40);
        string data = MethodFixtures.Data(TaskKind.Classification);
        var (_, first) = LearningRateSearch.Search(options, data, MethodFixtures.BaseModel, outDir);

        // Mark one finished trial so that a retrained one would be told apart: its score becomes the best by far.
        string trialDir = Directory.GetDirectories(Path.Combine(outDir, LearningRateSearch.TrialsDirectoryName)).Order(StringComparer.Ordinal).Last();
        string metricsPath = Path.Combine(trialDir, Trainer.MetricsFileName);
        var result = JsonSerializer.Deserialize<TrainResult>(File.ReadAllText(metricsPath), Trainer.JsonOptions)!;
        File.WriteAllText(metricsPath, JsonSerializer.Serialize(
            result with { Validation = result.Validation! with { Accuracy = 2.0, MacroF1 = 2.0 } }, Trainer.JsonOptions));

        var (chosen, again) = LearningRateSearch.Search(options, data, MethodFixtures.BaseModel, outDir);

        var winner = Assert.Single(again, t => t.Chosen);
        Assert.True(winner.ValidationScore > 1.9, $"the edited trial was retrained instead of reused: {winner.ValidationScore}");
        Assert.Equal(first.Count, again.Count);
        Assert.Equal(winner.LearningRate, chosen.LearningRate);
    }
}
