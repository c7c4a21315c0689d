using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Training.Mine;
using PredGen.Training.Runtime;
using PredGen.Training.Tests.Methods;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Training.Tests.Mine;

public sealed class ModelMutualInformationTests
{
    [Fact]
    public void A_generator_model_reports_token_level_and_pooled_estimates_below_the_label_entropy_and_its_cue_words()
    {
        string data = Path.Combine(Path.GetTempPath(), "predgen-mine-model-" + Environment.ProcessId);
        SyntheticTasks.WriteClassification(data, trainRows: 24, testRows: 40, seed: 5);
        var result = Trainer.Train(MethodFixtures.Fast(MethodKind.Generator, TaskKind.Classification), MethodFixtures.Data(TaskKind.Classification),
            MethodFixtures.BaseModel, MethodFixtures.NewOutput("mine-generator"));
        using var model = TrainedModel.Load(result.ModelDirectory, new TorchOptions { Device = "cpu" });
        var rows = PreparedRow.ReadJsonl(Path.Combine(data, "validation.jsonl")).Concat(PreparedRow.ReadJsonl(Path.Combine(data, "test.jsonl"))).ToList();

        var training = PreparedRow.ReadJsonl(Path.Combine(data, "train.jsonl"));

        var options = new MineOptions { HiddenSize = 32, EmbeddingSize = 8, BatchSize = 32, MaxSteps = 100, EvalEvery = 25, Seeds = 1, BootstrapSamples = 20 };
        var report = ModelMutualInformation.Analyse(model, rows, options, trainingRows: training);

        Assert.Equal(["token", "pooled"], report.Representations.Select(r => r.Representation));
        // 80 validation and test rows plus the 24 training rows; every held-out row is one the model never trained on.
        Assert.Equal((104, 80, 24), (report.Examples, report.UnseenRows, report.TrainingRows));
        Assert.All(report.Representations, r => Assert.Equal(r.Details.HeldOutSize, r.Details.HeldOutPreferredRows));
        Assert.Contains("fewer than the 200", report.Note, StringComparison.Ordinal);
        // A pooling loss only between two estimates, never against a representation that could not be estimated.
        Assert.Equal(report.Representations.All(r => r.Estimable), report.PoolingLossNats != null);
        Assert.InRange(report.TargetEntropyNats!.Value, 0.6, Math.Log(2) + 1e-9);
        foreach (var r in report.Representations)
            Assert.True(r.CiLow <= report.TargetEntropyNats + 0.05, $"{r.Representation}: {r.EstimateNats} [{r.CiLow}, {r.CiHigh}] above H(Y)");
        var tooFew = ModelMutualInformation.Analyse(model, rows.Take(10).ToList(), options, tokenAnalysis: false);
        Assert.Empty(tooFew.Representations);
        Assert.Contains("at least 20", tooFew.Note, StringComparison.Ordinal);

        var pos = Assert.Single(report.TokenAnalysis!.Labels, l => l.Label == "pos");
        Assert.NotEmpty(pos.TopTokens);
        Assert.True(pos.TopTokens[0].Token is "good" or "great" or "nice", $"top token for pos: {pos.TopTokens[0].Token}");
    }
}
