using System.Text.Json;
using PredGen.Cli.Worker;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Tests;

/// <summary>The classical baseline through `predgen baseline` and through the job worker (JobKind.Baseline), on the
/// committed demo splits.</summary>
[Collection(ConsoleOutput.Name)]
public sealed class BaselineCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-cli-baseline-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
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
    public async Task Predgen_baseline_writes_the_trainers_metrics_json_and_prints_it_with_json()
    {
        string outDir = Path.Combine(_root, "out");
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        int code;
        try
        {
            code = await PredGenCommand.Build().Parse(["baseline", "--data", Demo("spam"), "--task-kind", "classification", "--out", outDir, "--json"]).InvokeAsync();
        }
        finally
        {
            Console.SetOut(previous);
        }

        Assert.Equal(0, code);
        using var printed = JsonDocument.Parse(output.ToString());
        Assert.Equal("baseline", printed.RootElement.GetProperty("method").GetString());
        Assert.True(printed.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble() > 0.72, output.ToString()); // majority: 0.62
        using var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")));
        Assert.Equal(printed.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble(), written.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble());
    }

    [Fact]
    public async Task The_worker_runs_a_baseline_job_from_the_runs_prepared_splits_and_reports_test_metrics_and_a_validation_score()
    {
        var store = new FileSystemArtifactStore(Path.Combine(_root, "store"));
        foreach (var split in new[] { "train", "validation", "test" })
            await store.WriteAsync(BlobLayout.Prepared("syllables", "run1", split), BinaryData.FromBytes(await File.ReadAllBytesAsync(Path.Combine(Demo("syllables"), split + ".jsonl"))));
        var executor = new TorchJobExecutor(store, new WorkerOptions { WorkDirectory = Path.Combine(_root, "work") });
        var job = new JobMessage
        {
            JobId = "baseline", Kind = JobKind.Baseline, Task = "syllables", RunId = "run1", NotifyInstanceId = "retrain-syllables-run1:baseline",
            Method = "Baseline", Seed = 1, TaskKind = TaskKind.Regression,
        };

        var done = await executor.ExecuteAsync(job, CancellationToken.None);

        Assert.Equal(JobOutcome.Succeeded, done.Outcome);
        Assert.True(done.Metrics["mse"] < 0.7, $"mse {done.Metrics["mse"]}"); // predicting the training mean: 0.909
        Assert.True(done.Metrics[JobCompletion.ValidationScoreMetric] < 0); // −MSE on validation
        Assert.Equal(200, done.Metrics["count"]);
        Assert.True(await store.ExistsAsync(BlobLayout.Combine(BlobLayout.Job("syllables", "run1", "baseline"), "metrics.json")));
        Assert.True(await store.ExistsAsync(BlobLayout.JobTestPredictions("syllables", "run1", "baseline")));
    }
}
