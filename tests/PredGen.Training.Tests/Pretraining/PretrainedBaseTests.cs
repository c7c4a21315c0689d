using System.Text.Json;
using PredGen.TestSupport;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using PredGen.Training.Pretraining;
using PredGen.Training.Runtime;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Pretraining;

/// <summary>The committed base (models/base) against a randomly initialised model of the same config, on text held
/// out of pretraining (models/base/heldout.txt: ~600 bytes, the start of each corpus file's held-out 1%).</summary>
public sealed class PretrainedBaseTests
{
    private static string BaseDirectory => Path.Combine(TestPaths.RepositoryRoot(), "models", "base");

    [Fact]
    public void Committed_base_predicts_held_out_text_far_better_than_a_random_initialisation()
    {
        var options = new TorchOptions { Device = "cpu" };
        string heldOut = Path.Combine(BaseDirectory, Pretrainer.HeldOutFile);
        var (pretrained, tokenizer) = ModelDirectory.Load(BaseDirectory, options);
        double pretrainedLoss, randomLoss;
        using (pretrained)
        {
            pretrainedLoss = Pretrainer.HeldOutLoss(pretrained, heldOut, tokenizer);
            manual_seed(7);
            using var random = new LlamaForCausalLM(pretrained.Config);
            randomLoss = Pretrainer.HeldOutLoss(random, heldOut, tokenizer);
        }

        Assert.InRange(randomLoss, 5.2, 6.0);                 // ~ln(264) = 5.58 nats per byte
        Assert.True(pretrainedLoss < randomLoss - 2.5, $"pretrained {pretrainedLoss:F3} vs random {randomLoss:F3} nats per byte");
    }

    [Fact]
    public void Committed_base_records_how_it_was_made()
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(BaseDirectory, Pretrainer.SummaryFile)));
        var root = summary.RootElement;

        Assert.True(root.GetProperty("finished").GetBoolean());
        Assert.StartsWith("predgen pretrain", root.GetProperty("command").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(root.GetProperty("corpus").EnumerateArray(), c => c.GetProperty("file").GetString()!.Contains("sotu", StringComparison.OrdinalIgnoreCase));
        Assert.True(root.GetProperty("validation_loss").GetDouble() < root.GetProperty("random_init_validation_loss").GetDouble() - 2.5);
        Assert.True(new FileInfo(Path.Combine(BaseDirectory, ModelDirectory.WeightsFile)).Length < 30L * 1024 * 1024);
        Assert.True(File.Exists(Path.Combine(BaseDirectory, Pretrainer.LossCurveFile)));
    }
}
