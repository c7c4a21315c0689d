using PredGen.Shared.Data;
using PredGen.Shared.Predictions;
using PredGen.TestSupport;
using PredGen.Training.Methods;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Tests.Serving;

/// <summary>The worker serving a real fine-tuned model: a tiny PredGen classifier trained in seconds on the synthetic
/// sentiment task, uploaded to Azurite, promoted, loaded by the host's default TrainedModel loader.</summary>
[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class TrainedModelServingTests(AzuriteFixture azurite)
{
    private static readonly string[] Labels = ["pos", "neg"];

    [Fact]
    public async Task A_trained_PredGen_champion_answers_queue_requests_with_label_probabilities_and_generated_text()
    {
        string root = Path.Combine(Path.GetTempPath(), "predgen-serving-trained-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string baseDir = SyntheticTasks.WriteRandomBase(Path.Combine(root, "base"));
            string data = Path.Combine(root, "data");
            SyntheticTasks.WriteClassification(data);
            var options = new TrainOptions
            {
                Method = MethodKind.PredGen, TaskKind = TaskKind.Classification, Seed = 3, MaxSteps = 60, BatchSize = 8, LearningRate = 3e-3,
                WarmupRatio = 0.1, WeightDecay = 0, FineTuning = FineTuning.Full, EvalEvery = 60, EarlyStoppingPatience = 0, CheckpointEvery = 0,
                SamplingMin = 0, SamplingMax = 0.5, MaxPromptTokens = 64, Torch = new() { Device = "cpu", Threads = 1 },
            };
            var trained = Trainer.Train(options, data, baseDir, Path.Combine(root, "run"));

            await using var bed = await ServingTestBed.StartAsync(azurite, trainedModelDirectory: trained.ModelDirectory);
            await using var client = bed.NewClient();
            var texts = new[] { "it was good", "so awful", "really nice", "quite poor" };
            var replies = await Task.WhenAll(texts.Select(t => client.PredictAsync(bed.Request(t), TimeSpan.FromSeconds(60))));

            Assert.All(replies, r =>
            {
                Assert.True(r.IsSuccess, r.ErrorDetail);
                Assert.Contains(r.Label, Labels);
                Assert.Equal(1.0, r.Probabilities!.Values.Sum(), 3);
                Assert.Contains(r.GeneratedText, Labels);
                Assert.Equal("job-a", r.Model!.JobId);
            });
            // Each request computed exactly once, in at most as many batches as requests.
            Assert.Equal(texts.Length, bed.Metrics.Inferences);
            Assert.InRange(bed.Metrics.Batches, 1, texts.Length);
            Assert.Equal(texts.Length, bed.Metrics.Replied);
        }
        finally
        {
            try { Directory.Delete(root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
