using PredGen.Training.Methods;

namespace PredGen.Training.Tests.Methods;

public sealed class MetricsTests
{
    [Fact]
    public void Accuracy_and_macro_f1_match_hand_computed_values()
    {
        // a: tp 2, fp 1, fn 0 -> F1 0.8;  b: tp 1, fp 0, fn 1 -> F1 2/3;  c: tp 0, fn 0, fp 0 (absent) -> not counted
        var m = Metrics.Classification(["a", "a", "b", "b"], ["a", "a", "a", "b"]);
        Assert.Equal(0.75, m.Accuracy!.Value, 12);
        Assert.Equal((0.8 + 2.0 / 3) / 2, m.MacroF1!.Value, 12);
        Assert.Null(m.Mse);
    }

    [Fact]
    public void Model_selection_prefers_a_model_that_learned_to_one_stuck_on_the_validation_majority()
    {
        // 6 of 10 validation rows are "r": always answering "r" scores accuracy 0.6, a model that learned something
        // scores 0.5 with both classes predicted.
        string[] gold = ["r", "r", "r", "r", "r", "r", "d", "d", "d", "d"];
        var constant = Metrics.Classification(gold, [.. gold.Select(_ => "r")]);
        var learned = Metrics.Classification(gold, ["r", "r", "r", "d", "d", "d", "d", "d", "r", "r"]);
        Assert.True(constant.Accuracy > learned.Accuracy);
        Assert.True(learned.Score > constant.Score, $"macro-F1 {learned.MacroF1:F3} vs the constant's {constant.MacroF1:F3}");
        Assert.Equal("macro_f1", constant.ScoreName);

        // Equal macro-F1: accuracy breaks the tie.
        var a = Metrics.Classification(["x", "y"], ["x", "y"]);
        Assert.True(a.Score > Metrics.Classification(["x", "y"], ["y", "x"]).Score);
    }

    [Fact]
    public void Regression_metrics_match_hand_computed_values()
    {
        var m = Metrics.Regression([1, 2, 3, 4], [1.5, 2, 2.5, 5]);
        Assert.Equal((0.25 + 0 + 0.25 + 1) / 4, m.Mse!.Value, 12);
        Assert.Equal((0.5 + 0 + 0.5 + 1) / 4, m.Mae!.Value, 12);
        Assert.Equal(1 - 1.5 / 5, m.R2!.Value, 12);               // SS_res 1.5, SS_tot 5
        Assert.Equal(1.0, m.Spearman!.Value, 12);                  // same order
        Assert.Equal(5.5 / Math.Sqrt(5 * 7.25), m.Pearson!.Value, 12);  // Sxy 5.5, Sxx 5, Syy 7.25
        Assert.Null(m.Accuracy);
    }

    [Fact]
    public void Spearman_uses_average_ranks_for_ties()
    {
        Assert.Equal([1.5, 1.5, 3, 4], Metrics.Ranks([7, 7, 8, 9]));
        Assert.Equal(-1.0, Metrics.Regression([1, 2, 3], [3, 2, 1]).Spearman!.Value, 12);
    }
}
