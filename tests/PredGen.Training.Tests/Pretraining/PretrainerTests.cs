using PredGen.Training.Checkpoints;
using PredGen.Training.Optimization;
using PredGen.Training.Pretraining;
using PredGen.Training.Runtime;

namespace PredGen.Training.Tests.Pretraining;

public sealed class PretrainerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-pretrain-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Corpus()
    {
        Directory.CreateDirectory(_root);
        string path = Path.Combine(_root, "corpus.txt");
        var lines = Enumerable.Range(0, 400).Select(i => $"the cat sat on the mat number {i % 7} and the dog ran to the {(i % 2 == 0 ? "park" : "barn")}.");
        File.WriteAllLines(path, lines);
        return path;
    }

    private PretrainOptions Options(int steps) => new()
    {
        CorpusFiles = [Corpus()],
        Config = "tiny",
        Steps = steps,
        BatchSize = 4,
        SequenceLength = 48,
        LearningRate = 1e-2,
        WarmupSteps = 3,
        EvalEvery = 10,
        CheckpointEvery = 10,
        ValidationFraction = 0.05,
        ValidationWindowsPerFile = 4,
        Torch = new TorchOptions { Device = "cpu", Threads = 1 },
    };

    [Fact]
    public void Pretraining_a_tiny_model_lowers_the_held_out_loss_and_writes_a_loadable_model()
    {
        string outDir = Path.Combine(_root, "out");
        var summary = Pretrainer.Run(Options(40), outDir);

        Assert.True(summary.Finished);
        Assert.Equal(40 * 4 * 48, summary.TokensSeen);
        Assert.InRange(summary.RandomInitValidationLoss, 5.0, 6.0); // ~ln(264) = 5.58 for a byte model at init
        Assert.True(summary.ValidationLoss < summary.RandomInitValidationLoss - 2.0, $"{summary.RandomInitValidationLoss} -> {summary.ValidationLoss}");
        var (model, tokenizer) = ModelDirectory.Load(outDir, new TorchOptions { Device = "cpu" });
        using (model)
        {
            double loss = Pretrainer.HeldOutLoss(model, Path.Combine(outDir, Pretrainer.HeldOutFile), tokenizer);
            Assert.True(loss < 3.5, $"held-out loss {loss}");
        }
        Assert.Equal(6, File.ReadAllLines(Path.Combine(outDir, Pretrainer.LossCurveFile)).Length); // header, step 0, 10, 20, 30, 40
    }

    [Fact]
    public void A_stopped_run_resumes_from_its_checkpoint_on_the_same_curve()
    {
        string outDir = Path.Combine(_root, "resume");
        var first = Pretrainer.Run(Options(20) with { Steps = 20 }, outDir);
        var resumed = Pretrainer.Run(Options(30), outDir);

        Assert.Equal(20, first.CompletedSteps);
        Assert.Equal(30, resumed.CompletedSteps);
        Assert.Equal(30 * 4 * 48, resumed.TokensSeen);
        Assert.Equal(first.RandomInitValidationLoss, resumed.RandomInitValidationLoss);
        var steps = File.ReadAllLines(Path.Combine(outDir, Pretrainer.LossCurveFile)).Skip(1).Select(l => int.Parse(l.Split(',')[0])).ToList();
        Assert.Equal([0, 10, 20, 30], steps);
    }

    [Fact]
    public void Pretraining_checkpoints_in_the_fine_tuning_layout_and_resumes_a_checkpoint_of_the_layout_before_it()
    {
        string outDir = Path.Combine(_root, "legacy");
        var first = Pretrainer.Run(Options(20), outDir);
        string shared = Path.Combine(outDir, TrainingCheckpoint.DirectoryName);
        Assert.True(TrainingCheckpoint.Exists(shared));
        Assert.Equal(["state-0000020.safetensors", "state.json"], Directory.GetFiles(shared).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // The layout before: {out}/checkpoint with the weights as model.safetensors and the loop's state.json.
        string legacy = Path.Combine(outDir, "checkpoint");
        Directory.CreateDirectory(legacy);
        File.Copy(Path.Combine(shared, TrainingCheckpoint.StateFile), Path.Combine(legacy, TrainingCheckpoint.StateFile));
        File.Copy(Path.Combine(outDir, ModelDirectory.WeightsFile), Path.Combine(legacy, ModelDirectory.WeightsFile));
        Directory.Delete(shared, recursive: true);

        var resumed = Pretrainer.Run(Options(30), outDir);
        Assert.Equal(20, first.CompletedSteps);
        Assert.Equal(30, resumed.CompletedSteps);
        Assert.Equal(30 * 4 * 48, resumed.TokensSeen);
        Assert.Equal(first.RandomInitValidationLoss, resumed.RandomInitValidationLoss);
        Assert.True(TrainingCheckpoint.Exists(shared));
    }

    [Fact]
    public void Warmup_then_cosine_reaches_the_floor_at_total_steps_so_the_last_update_still_moves()
    {
        Assert.Equal(1e-3 * 1 / 10, WarmupCosineSchedule.LearningRate(0, 100, 10, 1e-3, 0.1), 12);
        Assert.Equal(1e-3, WarmupCosineSchedule.LearningRate(10, 100, 10, 1e-3, 0.1), 12);
        Assert.Equal(1e-3 * 0.55, WarmupCosineSchedule.LearningRate(55, 100, 10, 1e-3, 0.1), 12); // half-way through the decay
        Assert.Equal(1e-3 * (0.1 + 0.45 * (1 + Math.Cos(Math.PI * 89 / 90))), WarmupCosineSchedule.LearningRate(99, 100, 10, 1e-3, 0.1), 12);
        Assert.True(WarmupCosineSchedule.LearningRate(99, 100, 10, 1e-3, 0) > 0);
        Assert.Equal(1e-4, WarmupCosineSchedule.LearningRate(100, 100, 10, 1e-3, 0.1), 12);
    }
}
