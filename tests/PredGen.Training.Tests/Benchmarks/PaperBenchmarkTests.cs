using PredGen.Tooling.Benchmarks;

namespace PredGen.Training.Tests.Benchmarks;

public sealed class PaperBenchmarkTests
{
    private static MethodSummary Summary(string method, string kind, string metric, double mean) =>
        new("t", kind, method, 1e-3, 3, new Dictionary<string, MeanStd> { [metric] = new(mean, 0) }, 1, 1, []);

    [Fact]
    public void Mean_and_sample_standard_deviation_over_seeds()
    {
        var s = MeanStd.Of([0.6, 0.7, 0.8]);

        Assert.Equal(0.7, s.Mean, 12);
        Assert.Equal(0.1, s.Std, 12);
        Assert.Equal("0.700 ± 0.100", s.Format("F3"));
    }

    [Fact]
    public void Ordering_ranks_accuracy_high_first_mse_low_first_and_shows_ties()
    {
        string classification = PaperBenchmark.Ordering([Summary("Predictor", "classification", "accuracy", 0.62),
            Summary("Generator", "classification", "accuracy", 0.62), Summary("PredGen", "classification", "accuracy", 0.70)]);
        string regression = PaperBenchmark.Ordering([Summary("Predictor", "regression", "mse", 0.45),
            Summary("Generator", "regression", "mse", 0.72), Summary("PredGen", "regression", "mse", 0.48)]);

        Assert.Equal("PredGen > Predictor = Generator", classification);
        Assert.Equal("Predictor > PredGen > Generator", regression);
    }

    [Fact]
    public void The_baseline_is_a_row_of_the_table_but_not_of_the_ordering_and_the_verdict_says_who_beats_it()
    {
        var spam = new List<MethodSummary>
        {
            Summary("Predictor", "classification", "accuracy", 0.62) with { Task = "spam" },
            Summary("PredGen", "classification", "accuracy", 0.70) with { Task = "spam" },
            Summary(PaperBenchmark.BaselineMethod, "classification", "accuracy", 0.96) with { Task = "spam" },
        };
        var syllables = new List<MethodSummary>
        {
            Summary("Predictor", "regression", "mse", 0.45) with { Task = "syllables" },
            Summary(PaperBenchmark.BaselineMethod, "regression", "mse", 0.48) with { Task = "syllables" },
        };
        var report = new PaperBenchmarkReport(new PaperBenchmarkOptions(), [.. spam, .. syllables],
            new Dictionary<string, string> { ["spam"] = PaperBenchmark.Ordering([.. spam.Where(s => s.Method != PaperBenchmark.BaselineMethod)]) }, 1);

        string md = PaperBenchmark.Markdown(report, "predgen bench paper", "test machine");

        Assert.Contains("| spam | *baseline (classical floor)* | — | 0.960 ± 0.000 |", md, StringComparison.Ordinal);
        Assert.Contains("- spam: PredGen > Predictor", md, StringComparison.Ordinal);
        Assert.Contains("- spam: the best LM method, PredGen (accuracy 0.700), does not beat the baseline (0.960)", md, StringComparison.Ordinal);
        Assert.Contains("- syllables: the best LM method, Predictor (mse 0.45), beats the baseline (0.48)", md, StringComparison.Ordinal);
    }
}
