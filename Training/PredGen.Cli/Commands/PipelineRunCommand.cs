using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using PredGen.Cli.Pipeline;
using PredGen.Cli.Worker;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Training.Runtime;
using PredGen.Workflows.Retrain;

namespace PredGen.Cli.Commands;

/// <summary>
/// `predgen pipeline run`: the retraining pipeline on this machine. Uploads the file to datasets/{task}/, runs the
/// Retrain orchestration on the in-process Durable Task engine with this process as the worker, prints progress,
/// then the method comparison and the report's location. The run id hashes the file and the training settings, so
/// running the same command again reuses the jobs that finished (a crashed run resumes) and trains nothing twice.
/// </summary>
public sealed class PipelineRunCommand : ICliCommand
{
    public string Parent => "pipeline";

    public Command Create()
    {
        var dataset = new Option<FileInfo>("--dataset") { Description = "JSONL or CSV file: text (or text_a/text_b) and label", Required = true };
        var task = new Option<string>("--task") { Description = "task name (lower-case letters, digits, '-', '_', '.')", Required = true };
        var kind = new Option<TaskKind?>("--kind") { Description = "classification | regression (default: inferred from the labels)" };
        var storage = new Option<string>("--storage") { Description = "artifact store: a folder, or a connection string (Azurite / account)", DefaultValueFactory = _ => Path.Combine(".predgen", "store") };
        var methods = new Option<string[]>("--methods") { Description = "Predictor, Generator, PredGen (default: all three)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [.. Methods.All] };
        var seeds = new Option<int>("--seeds") { Description = "seeds per method", DefaultValueFactory = _ => 1 };
        var steps = new Option<int?>("--steps") { Description = "optimizer steps per job (default: the trainer's)" };
        var batch = new Option<int?>("--batch-size") { Description = "training batch size (default: the trainer's)" };
        var promptTokens = new Option<int?>("--max-prompt-tokens") { Description = "prompt tokens kept per example (default: the trainer's)" };
        var mineSteps = new Option<int?>("--mine-steps") { Description = "MINE statistics-network steps (default: the estimator's)" };
        var noMine = new Option<bool>("--no-mine") { Description = "skip the mutual-information analysis" };
        var lr = new Option<double?>("--lr") { Description = "fix the learning rate of every job (skips the learning-rate trials)" };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "skip the classical baseline (TF-IDF n-grams + linear model)" };
        var baseModel = new Option<string?>("--base-model") { Description = "base model folder (default: models/base)" };
        var work = new Option<string>("--work") { Description = "scratch folder of the worker", DefaultValueFactory = _ => Path.Combine(".predgen", "work") };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "print the result as one JSON object (progress goes to stderr)" };
        var command = new Command("run", "Run the retraining pipeline (prepare, baseline, learning-rate trials, train each method and seed, MINE, report, promote) on this machine.")
        {
            dataset, task, kind, storage, methods, seeds, steps, batch, promptTokens, mineSteps, noMine, lr, noBaseline, baseModel, work, device, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(dataset)!;
            if (!file.Exists) { Console.Error.WriteLine($"{file.FullName} does not exist"); return 2; }
            string taskName = parse.GetValue(task)!;
            try { BlobLayout.Segment(taskName, "task"); }
            catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
            string? baseDir = parse.GetValue(baseModel) ?? DefaultBaseModel();
            if (baseDir == null) { Console.Error.WriteLine("no base model: pass --base-model <folder> (models/base not found)"); return 2; }

            var training = new TrainingSettings
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), MaxPromptTokens = parse.GetValue(promptTokens), MineSteps = parse.GetValue(mineSteps),
                LearningRate = parse.GetValue(lr),
            };
            var request = new RetrainRequest
            {
                Task = taskName, DatasetPath = BlobLayout.Dataset(taskName, file.Name), RunId = "pending",
                Kind = parse.GetValue(kind),
                Methods = [.. parse.GetValue(methods)!.SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(Methods.Canonical).Distinct()],
                Seeds = Math.Max(1, parse.GetValue(seeds)), BaseModel = Path.GetFullPath(baseDir), Training = training,
                RunMine = !parse.GetValue(noMine), RunBaseline = !parse.GetValue(noBaseline), JobPollSeconds = 30,
            };
            byte[] bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken).ConfigureAwait(false);
            request = request with { RunId = RunIdOf(bytes, request) };
            bool quiet = parse.GetValue(json);
            var log = quiet ? Console.Error : Console.Out;

            var store = ArtifactStoreFactory.Create(parse.GetValue(storage)!);
            await store.WriteAsync(request.DatasetPath, BinaryData.FromBytes(bytes), cancellationToken).ConfigureAwait(false);
            var torch = new TorchOptions { Device = parse.GetValue(device)! };
            var executor = new TorchJobExecutor(store, new WorkerOptions { WorkDirectory = Path.GetFullPath(parse.GetValue(work)!), Torch = torch }, MineAnalysisFactory.Create(torch));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await using var pipeline = await LocalPipeline.StartAsync(store, executor, cancellationToken: cancellationToken).ConfigureAwait(false);
            var start = await pipeline.StartRunAsync(request, cancellationToken).ConfigureAwait(false);
            log.WriteLine($"run {request.RunId} of task {taskName}: {request.Methods.Count} method(s) x {request.Seeds} seed(s), store {store.Location}");
            var done = await pipeline.WaitAsync(start.InstanceId, s =>
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed:mm\\:ss}] {s.Stage,-10} jobs {s.JobsDone}/{s.JobsTotal}{(s.JobsFailed > 0 ? $" ({s.JobsFailed} failed)" : "")}")),
                cancellationToken).ConfigureAwait(false);

            if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            {
                Console.Error.WriteLine($"run {request.RunId} {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
                if (quiet) Console.WriteLine(JsonSerializer.Serialize(new { run_id = request.RunId, status = done.RuntimeStatus.ToString(), error = done.FailureDetails?.ErrorMessage }, CliJson.Options));
                return 1;
            }
            var result = done.ReadOutputAs<RetrainResult>()!;
            string report = ReportLocation(store, result.Report.HtmlPath);
            if (quiet)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { result, report, wall_seconds = clock.Elapsed.TotalSeconds }, CliJson.Options));
            }
            else
            {
                Console.WriteLine();
                Console.Write(ComparisonTable(result));
                Console.WriteLine();
                Console.WriteLine($"champion: {(result.Champion.Promote ? "promoted " + result.Champion.CandidateJobId : "kept")} ({result.Champion.Reason})");
                Console.WriteLine($"report:   {report}");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wall time {clock.Elapsed.TotalSeconds:F0} s"));
            }
            return result.Outcome == "completed" ? 0 : 3;
        });
        return command;
    }

    internal static string RunIdOf(byte[] content, RetrainRequest request)
    {
        // The trial grid and the baseline change what a run trains and reports: another grid is another run.
        string settings = JsonSerializer.Serialize(new
        {
            request.Task, request.Kind, request.Methods, request.Seeds, request.BaseModel, request.Training, request.RunMine, request.RunBaseline,
            Trials = request.Trials ?? TrialGrid.Default,
        });
        byte[] hash = SHA256.HashData([.. SHA256.HashData(content), .. Encoding.UTF8.GetBytes(settings)]);
        return RetrainRequest.RunIdFromContentHash(hash);
    }

    private static string? DefaultBaseModel()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "models", "base");
            if (File.Exists(Path.Combine(candidate, "config.json"))) return candidate;
        }
        return null;
    }

    private static string ReportLocation(IArtifactStore store, string path) =>
        store is FileSystemArtifactStore folder ? folder.LocalPath(path) : store.Location.TrimEnd('/') + "/" + path;

    /// <summary>One row per job (the baseline last): the test metrics of the task kind, MI (token / pooled), time;
    /// failed jobs say why. Then the chosen learning-rate trial of each method.</summary>
    internal static string ComparisonTable(RetrainResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        string[] metrics = result.Dataset.Kind == TaskKind.Classification ? ["accuracy", "macro_f1"] : ["mse", "mae", "spearman"];
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{"job",-14} {"method",-10} {"status",-10}");
        foreach (var m in metrics) sb.Append(CultureInfo.InvariantCulture, $" {m,9}");
        sb.Append(CultureInfo.InvariantCulture, $" {"MI token",9} {"MI pooled",9} {"train s",8}\n");
        // The classical baseline last: the floor the methods are read against.
        foreach (var job in result.Baseline == null ? result.Jobs : [.. result.Jobs, result.Baseline])
        {
            sb.Append(CultureInfo.InvariantCulture, $"{job.JobId,-14} {job.Method,-10} {job.Status,-10}");
            foreach (var m in metrics)
                sb.Append(job.TestMetrics.TryGetValue(m, out var v) ? string.Create(CultureInfo.InvariantCulture, $" {v,9:F4}") : $" {"-",9}");
            string Mi(string representation) => result.Mine.FirstOrDefault(x => x.JobId == job.JobId && x.Representation == representation) is { } e
                ? string.Create(CultureInfo.InvariantCulture, $"{e.EstimateNats,9:F3}") : $"{"-",9}";
            sb.Append(CultureInfo.InvariantCulture, $" {Mi("token")} {Mi("pooled")} {job.TrainSeconds,8:F1}");
            if (job.Error != null) sb.Append("  ").Append(job.Error);
            sb.Append('\n');
        }
        foreach (var t in result.Trials.Where(t => t.Chosen))
            sb.Append(CultureInfo.InvariantCulture, $"trials chose for {t.Method}: lr {t.LearningRate:G3}, {t.FineTuning} fine-tuning (validation score {t.ValidationScore:F4})\n");
        return sb.ToString();
    }
}
