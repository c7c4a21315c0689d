using System.Globalization;
using System.Text;
using PredGen.Cli.Pipeline;
using PredGen.Cli.Worker;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Training.Methods;
using PredGen.Workflows.Retrain;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Tests.Pipeline;

/// <summary>
/// The answer format is decided once, by PrepareDataset, and travels to the training job: the report describes the
/// format the trained model writes (issue 17 item 1). Before, the preparer kept up to 3 decimals and the trainer
/// decided again with up to 2, so a run whose targets need 3 decimals reported "3 decimal(s)" for a model that wrote 2.
/// </summary>
public sealed class AnswerFormatContractTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-answer-format-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_run_whose_targets_need_three_decimals_reports_the_number_format_its_model_writes()
    {
        const string Task = "sizes";
        var store = new FileSystemArtifactStore(Path.Combine(_root, "store"));
        string baseModel = SyntheticTasks.WriteRandomBase(Path.Combine(_root, "base"));
        // 1.125, 2.250, 3.375, ...: every value needs three decimals to be written exactly.
        var lines = new StringBuilder();
        for (int i = 0; i < 80; i++)
            lines.Append(CultureInfo.InvariantCulture, $"{{\"text\":\"item {i} weighs {i % 8}\",\"label\":{1.125 * (1 + i % 8)}}}\n");
        string datasetPath = BlobLayout.Dataset(Task, "sizes.jsonl");
        await store.WriteAsync(datasetPath, BinaryData.FromString(lines.ToString()));

        var executor = new TorchJobExecutor(store, new WorkerOptions
        {
            WorkDirectory = Path.Combine(_root, "work"),
            DefaultBaseModel = baseModel,
            Torch = new() { Device = "cpu", Threads = 1 },
        });
        await using var pipeline = await LocalPipeline.StartAsync(store, executor);
        var request = new RetrainRequest
        {
            Task = Task, DatasetPath = datasetPath, RunId = "run1", Kind = TaskKind.Regression,
            Methods = [Methods.Generator], Seeds = 1, RunMine = false, RunBaseline = false,
            Training = new TrainingSettings { Steps = 1, BatchSize = 4, LearningRate = 1e-3, EvalEvery = 1, MaxTestRows = 4 },
        };
        var start = await pipeline.StartRunAsync(request);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var done = await pipeline.WaitAsync(start.InstanceId, onProgress: null, timeout.Token);
        var result = done.ReadOutputAs<RetrainResult>()!;
        var job = Assert.Single(result.Jobs);
        Assert.True(job.IsSucceeded, job.Error);

        string modelDir = Path.Combine(_root, "model");
        await store.DownloadDirectoryAsync(BlobLayout.JobModel(Task, "run1", job.JobId), modelDir);
        var written = ModelCard.Load(modelDir).NumberFormat!;
        var stated = result.Dataset.NumberFormat!;
        string report = (await store.ReadAsync(result.Report.HtmlPath))!.Content.ToString();

        Assert.Equal(3, stated.Decimals);
        Assert.Equal(stated, written);
        Assert.Contains($"Targets are generated as {written.Length} characters: {written.IntegerDigits} integer digit(s) and {written.Decimals} decimal(s)", report, StringComparison.Ordinal);
    }
}
