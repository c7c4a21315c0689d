using System.Diagnostics;
using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;
using Xunit.Abstractions;

namespace PredGen.Training.Tests.Methods;

public sealed class MethodLearningTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(MethodKind.Predictor)]
    [InlineData(MethodKind.Generator)]
    [InlineData(MethodKind.PredGen)]
    public void Each_method_learns_the_tiny_classification_set(MethodKind method)
    {
        var clock = Stopwatch.StartNew();
        string outDir = MethodFixtures.NewOutput($"cls-{method}");
        var result = Trainer.Train(MethodFixtures.Fast(method, TaskKind.Classification), MethodFixtures.Data(TaskKind.Classification), MethodFixtures.BaseModel, outDir);
        using var model = TrainedModel.Load(result.ModelDirectory, new TorchOptions { Device = "cpu" });
        var train = PreparedRow.ReadJsonl(Path.Combine(MethodFixtures.Data(TaskKind.Classification), "train.jsonl"));
        var metrics = Evaluation.Evaluate(model, train);
        output.WriteLine($"{method}: train accuracy {metrics.Accuracy:F3}, test {result.Test.Accuracy:F3}, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(metrics.Accuracy >= 0.95, $"{method} train accuracy {metrics.Accuracy}");
    }

    [Theory]
    [InlineData(MethodKind.Predictor)]
    [InlineData(MethodKind.Generator)]
    [InlineData(MethodKind.PredGen)]
    public void Each_method_learns_the_tiny_regression_set(MethodKind method)
    {
        var clock = Stopwatch.StartNew();
        string outDir = MethodFixtures.NewOutput($"reg-{method}");
        var result = Trainer.Train(MethodFixtures.Fast(method, TaskKind.Regression), MethodFixtures.Data(TaskKind.Regression), MethodFixtures.BaseModel, outDir);
        using var model = TrainedModel.Load(result.ModelDirectory, new TorchOptions { Device = "cpu" });
        var train = PreparedRow.ReadJsonl(Path.Combine(MethodFixtures.Data(TaskKind.Regression), "train.jsonl"));
        var metrics = Evaluation.Evaluate(model, train);
        var values = train.Select(r => r.Value!.Value).ToList();
        double spread = Math.Sqrt(values.Sum(v => Math.Pow(v - values.Average(), 2)) / values.Count);
        output.WriteLine($"{method}: train MAE {metrics.Mae:F3} (target std {spread:F2}), test MAE {result.Test.Mae:F3}, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(metrics.Mae < 0.25 * spread, $"{method} train MAE {metrics.Mae} vs target std {spread}");
    }
}
