using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Methods;

namespace PredGen.Training.Tests.Methods;

public sealed class ResumeTests
{
    [Fact]
    public void A_run_interrupted_and_resumed_from_its_checkpoint_ends_with_the_uninterrupted_runs_metrics()
    {
        // PredGen with LoRA (dropout draws from torch's generator) and per-token scheduled sampling (draws per step).
        var options = MethodFixtures.Fast(MethodKind.PredGen, TaskKind.Classification, steps: 24) with
        {
            FineTuning = FineTuning.Lora,
            LoraRank = 4,
            LoraDropout = 0.1,
            EvalEvery = 8,
            CheckpointEvery = 5,
            SamplingMax = 0.8,
        };
        string data = MethodFixtures.Data(TaskKind.Classification);
        string straight = MethodFixtures.NewOutput("straight");
        var uninterrupted = Trainer.Train(options, data, MethodFixtures.BaseModel, straight);

        string resumed = MethodFixtures.NewOutput("resumed");
        var first = Trainer.Train(options with { StopAfterSteps = 13 }, data, MethodFixtures.BaseModel, resumed);
        Assert.True(first.Interrupted);
        Assert.Equal(13, first.Steps);
        var second = Trainer.Train(options, data, MethodFixtures.BaseModel, resumed);
        Assert.Equal(13, second.ResumedFromStep);

        Assert.Equal(Json(uninterrupted.Test), Json(second.Test));
        Assert.Equal(Json(uninterrupted.Validation!), Json(second.Validation!));
        Assert.Equal(uninterrupted.BestStep, second.BestStep);
        // The per-step losses after the resume point match too (to the last digit).
        Assert.Equal(Losses(straight), Losses(resumed));
    }

    [Fact]
    public void The_same_seed_gives_the_same_losses_and_metrics_to_the_last_digit()
    {
        var options = MethodFixtures.Fast(MethodKind.PredGen, TaskKind.Classification, steps: 16) with { SamplingMax = 0.8, EvalEvery = 8 };
        string data = MethodFixtures.Data(TaskKind.Classification);
        string a = MethodFixtures.NewOutput("same-a"), b = MethodFixtures.NewOutput("same-b");
        var first = Trainer.Train(options, data, MethodFixtures.BaseModel, a);
        var second = Trainer.Train(options, data, MethodFixtures.BaseModel, b);
        Assert.Equal(Losses(a), Losses(b));
        Assert.Equal(Json(first.Test), Json(second.Test));
    }

    private static string Json(Metrics m) => JsonSerializer.Serialize(m);

    private static List<string> Losses(string outDir) =>
        [.. File.ReadAllLines(Path.Combine(outDir, Trainer.StepMetricsFileName))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("loss", out _))
            .Select(e => $"{e.GetProperty("step").GetInt32()}:{e.GetProperty("loss").GetDouble():R}:{e.GetProperty("l_w").GetDouble():R}")];
}
