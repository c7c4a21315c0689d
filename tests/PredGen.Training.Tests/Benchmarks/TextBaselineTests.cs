using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Baselines;
using PredGen.Training.Methods;

namespace PredGen.Training.Tests.Benchmarks;

/// <summary>The classical floor on the committed demo splits (real data: SpamAssassin e-mail, CMUdict syllables).</summary>
public sealed class TextBaselineTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "predgen-baseline-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }

    private static string Demo(string task)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "data", "demo", task);
            if (File.Exists(Path.Combine(candidate, "train.jsonl"))) return candidate;
        }
        throw new DirectoryNotFoundException($"data/demo/{task} not found above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void On_demo_spam_it_beats_the_majority_class_by_more_than_ten_points()
    {
        string data = Demo("spam");
        var train = PreparedRow.ReadJsonl(Path.Combine(data, "train.jsonl"));
        var test = PreparedRow.ReadJsonl(Path.Combine(data, "test.jsonl"));
        string majority = train.GroupBy(r => r.Label).MaxBy(g => g.Count())!.Key!;
        double majorityAccuracy = test.Count(r => r.Label == majority) / (double)test.Count; // 0.62 (31 ham of 50)

        var result = TextBaseline.Run(new BaselineOptions { TaskKind = TaskKind.Classification }, data, _out);

        Assert.Equal(50, result.Test.Count);
        Assert.True(result.Test.Accuracy > majorityAccuracy + 0.1, $"baseline {result.Test.Accuracy:F3}, majority {majorityAccuracy:F3}");
        Assert.True(result.Test.MacroF1 > 0.8, $"macro-F1 {result.Test.MacroF1:F3}");
        Assert.Contains(result.ChosenL2, result.Settings.ClassificationL2Grid);
        Assert.Equal(result.Grid.Max(g => g.ValidationScore), result.Validation.Score);

        // metrics.json speaks the trainer's field names, plus method "baseline"; predictions in the trainer's format.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, Trainer.MetricsFileName)));
        Assert.Equal("baseline", json.RootElement.GetProperty("method").GetString());
        Assert.Equal(result.Test.Accuracy, json.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble());
        Assert.True(json.RootElement.GetProperty("validation").TryGetProperty("macro_f1", out _));
        Assert.True(json.RootElement.TryGetProperty("train_seconds", out _));
        var predictions = File.ReadAllLines(Path.Combine(_out, Trainer.TestPredictionsFileName));
        Assert.Equal(50, predictions.Length);
        using var first = JsonDocument.Parse(predictions[0]);
        Assert.InRange(first.RootElement.GetProperty("probability").GetDouble(), 0.5, 1.0);
        Assert.True(File.Exists(Path.Combine(_out, TextBaseline.ModelFileName)));
    }

    [Fact]
    public void On_demo_syllables_its_mse_is_well_below_predicting_the_training_mean()
    {
        string data = Demo("syllables");
        double mean = PreparedRow.ReadJsonl(Path.Combine(data, "train.jsonl")).Average(r => r.Value!.Value);
        var test = PreparedRow.ReadJsonl(Path.Combine(data, "test.jsonl"));
        double meanMse = test.Average(r => (r.Value!.Value - mean) * (r.Value!.Value - mean)); // 0.909

        var result = TextBaseline.Run(new BaselineOptions { TaskKind = TaskKind.Regression }, data, _out);

        Assert.Equal(200, result.Test.Count);
        Assert.True(result.Test.Mse < 0.75 * meanMse, $"baseline MSE {result.Test.Mse:F3}, mean predictor {meanMse:F3}");
        Assert.True(result.Test.R2 > 0.25, $"R2 {result.Test.R2:F3}");
        Assert.Equal(-result.Validation.Mse, result.Validation.Score);
    }

    [Fact]
    public void A_run_is_reproducible()
    {
        string data = Demo("syllables");
        var a = TextBaseline.Run(new BaselineOptions { TaskKind = TaskKind.Regression }, data, Path.Combine(_out, "a"));
        var b = TextBaseline.Run(new BaselineOptions { TaskKind = TaskKind.Regression }, data, Path.Combine(_out, "b"));

        Assert.Equal(a.Test.Mse, b.Test.Mse);
        Assert.Equal(a.ChosenL2, b.ChosenL2);
    }
}
