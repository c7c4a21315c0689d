using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Commands;

/// <summary>`predgen bench paper`: the paper's comparison (Predictor vs Generator vs PredGen) on the real tasks (issue 9),
/// with the classical baseline as each task's floor (issue 19).</summary>
public sealed class BenchPaperCommand : ICliCommand
{
    private const string StartMarker = "<!-- bench paper: generated, start -->";
    private const string EndMarker = "<!-- bench paper: generated, end -->";

    public string Parent => "bench";

    public Command Create()
    {
        var defaults = new PaperBenchmarkOptions();
        var tasks = new Option<string[]>("--tasks") { Description = "tasks (folders of --data)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [.. defaults.Tasks] };
        var methods = new Option<string[]>("--methods") { AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["predictor", "generator", "predgen"] };
        var poolings = new Option<string[]>("--poolings") { Description = "Predictor poolings to compare: mean, last (both: mean last)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["mean"] };
        var seeds = new Option<int>("--seeds") { DefaultValueFactory = _ => defaults.Seeds };
        var lrs = new Option<double[]>("--lrs") { Description = "learning-rate grid (chosen on validation with seed 1)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [.. defaults.LearningRates] };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => defaults.Steps };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => defaults.BatchSize };
        var fineTuning = new Option<string>("--fine-tuning") { Description = "full | lora", DefaultValueFactory = _ => "full" };
        var loraRank = new Option<int>("--lora-rank") { DefaultValueFactory = _ => defaults.LoraRank };
        var maxPrompt = new Option<int>("--max-prompt-tokens") { DefaultValueFactory = _ => defaults.MaxPromptTokens };
        var trainRows = new Option<int>("--train-rows") { Description = "0 = all" };
        var validationRows = new Option<int>("--validation-rows") { DefaultValueFactory = _ => defaults.ValidationRows };
        var testRows = new Option<int>("--test-rows") { DefaultValueFactory = _ => defaults.TestRows };
        var latencyRows = new Option<int>("--latency-rows") { Description = "test rows timed one request at a time", DefaultValueFactory = _ => defaults.LatencyRows };
        var data = new Option<string>("--data") { DefaultValueFactory = _ => defaults.DataDirectory };
        var baseModel = new Option<string>("--base") { DefaultValueFactory = _ => defaults.BaseModelDirectory };
        var output = new Option<string>("--out") { Description = "run folders (resumable: finished runs are skipped)", DefaultValueFactory = _ => defaults.OutDirectory };
        var results = new Option<string?>("--results") { Description = "Markdown file whose generated section is replaced (e.g. docs/RESULTS.md)" };
        var threads = new Option<int>("--threads");
        var json = new Option<bool>("--json") { Description = "print the report as one JSON object" };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "leave out the classical baseline row (TF-IDF n-grams + linear model)" };
        var command = new Command("paper", "Fine-tune Predictor, Generator and PredGen from the same base with the same budget on every task; mean ± std over seeds.")
        {
            tasks, methods, poolings, seeds, lrs, steps, batch, fineTuning, loraRank, maxPrompt, trainRows, validationRows, testRows, latencyRows, data, baseModel, output, results, threads, json, noBaseline,
        };
        command.SetAction(parse =>
        {
            static IReadOnlyList<string> Split(string[] values) => values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            var options = new PaperBenchmarkOptions
            {
                Tasks = Split(parse.GetValue(tasks)!),
                Methods = Split(parse.GetValue(methods)!).Select(m => CliNames.Parse<MethodKind>(m, "--methods")).ToList(),
                PredictorPoolings = Split(parse.GetValue(poolings)!).Select(p => CliNames.Parse<PoolingKind>(p, "--poolings")).ToList(),
                Seeds = parse.GetValue(seeds),
                LearningRates = parse.GetValue(lrs)!,
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                FineTuning = CliNames.Parse<FineTuning>(parse.GetValue(fineTuning)!, "--fine-tuning"),
                LoraRank = parse.GetValue(loraRank),
                MaxPromptTokens = parse.GetValue(maxPrompt),
                TrainRows = parse.GetValue(trainRows),
                ValidationRows = parse.GetValue(validationRows),
                TestRows = parse.GetValue(testRows),
                LatencyRows = parse.GetValue(latencyRows),
                DataDirectory = parse.GetValue(data)!,
                BaseModelDirectory = parse.GetValue(baseModel)!,
                OutDirectory = parse.GetValue(output)!,
                Torch = new TorchOptions { Device = "cpu", Threads = parse.GetValue(threads) },
                Baseline = !parse.GetValue(noBaseline),
            };
            string commandLine = "predgen " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
            string machine = Machine(options.Torch.Threads);
            var report = PaperBenchmark.Run(options, parse.GetValue(json) ? null : Console.Error);
            if (parse.GetValue(results) is { } resultsPath) WriteResults(resultsPath, PaperBenchmark.Markdown(report, commandLine, machine));
            Console.WriteLine(parse.GetValue(json) ? JsonSerializer.Serialize(report, CliJson.Options) : PaperBenchmark.Markdown(report, commandLine, machine));
            return 0;
        });
        return command;
    }

    private static string Machine(int threads)
    {
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        var info = TorchRuntime.Describe(new TorchOptions { Device = "cpu" }, measure: false);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores of {cpu}, TorchSharp {info.TorchSharpVersion} / libtorch {info.LibTorchVersion} on CPU, {(threads > 0 ? threads : info.Threads)} torch threads per process, load average {load} at the start (shared machine)");
    }

    /// <summary>Replaces the generated section of the results page and keeps what people wrote around it.</summary>
    private static void WriteResults(string path, string generated)
    {
        string block = StartMarker + "\n" + generated.TrimEnd() + "\n" + EndMarker;
        string existing = File.Exists(path) ? File.ReadAllText(path) : "# Results\n\n" + StartMarker + "\n" + EndMarker + "\n";
        int start = existing.IndexOf(StartMarker, StringComparison.Ordinal);
        int end = existing.IndexOf(EndMarker, StringComparison.Ordinal);
        string updated = start >= 0 && end > start
            ? existing[..start] + block + existing[(end + EndMarker.Length)..]
            : existing.TrimEnd() + "\n\n" + block + "\n";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, updated);
    }
}
