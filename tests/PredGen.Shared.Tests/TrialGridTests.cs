using PredGen.Shared.Jobs;

namespace PredGen.Shared.Tests;

public sealed class TrialGridTests
{
    [Theory]
    [InlineData(400, 100)] // a quarter, capped at 100
    [InlineData(200, 50)]
    [InlineData(40, 20)] // at least 20 ...
    [InlineData(12, 12)] // ... but never longer than the run itself
    public void A_trial_runs_a_quarter_of_the_run_within_20_to_100_steps(int totalSteps, int trialSteps) =>
        Assert.Equal(trialSteps, TrialGrid.Default.TrialSteps(totalSteps));

    [Fact]
    public void The_default_grid_is_full_fine_tuning_at_three_rates_and_lora_at_3e_3() =>
        Assert.Equal([new(1e-3, false), new(3e-4, false), new(3e-3, false), new TrialCandidate(3e-3, true)], TrialGrid.Default.Candidates);

    [Fact]
    public void A_run_without_steps_lasts_three_epochs_of_its_training_rows() =>
        Assert.Equal(3 * 13, TrainingDefaults.TotalSteps(new TrainingSettings { BatchSize = 8 }, trainRows: 100));

    [Fact]
    public void A_fixed_learning_rate_leaves_nothing_to_try_and_a_fixed_mode_keeps_only_its_candidates()
    {
        Assert.Empty(TrialGrid.Default.CandidatesFor(new TrainingSettings { LearningRate = 1e-3 }));
        Assert.Equal([new TrialCandidate(3e-3, true)], TrialGrid.Default.CandidatesFor(new TrainingSettings { UseLora = true }));
        Assert.Equal(4, TrialGrid.Default.CandidatesFor(new TrainingSettings()).Count);
    }

    [Fact]
    public void The_best_validation_score_wins_ties_go_to_the_earlier_candidate_and_failed_trials_never_win()
    {
        var c = TrialGrid.Default.Candidates;

        Assert.Equal(c[2], TrialGrid.Choose([new(c[0], 0.5), new(c[1], 0.7), new(c[2], 0.8), new(c[3], null)]));
        Assert.Equal(c[1], TrialGrid.Choose([new(c[0], -2.0), new(c[1], -1.5), new(c[2], -1.5)])); // regression: −MSE
        Assert.Null(TrialGrid.Choose([new(c[0], null), new(c[1], double.NaN)]));
    }

    [Fact]
    public void A_trial_carries_its_candidate_and_validates_once_at_its_last_step()
    {
        var s = TrialGrid.Default.TrialSettings(new TrainingSettings { BatchSize = 4, Steps = 200 }, new TrialCandidate(1e-3, false), totalSteps: 200);

        Assert.Equal((1e-3, false, 50, 50, 50, 4), (s.LearningRate, s.UseLora, s.Steps, s.EvalEvery, s.CheckpointEvery, s.BatchSize));
    }
}
