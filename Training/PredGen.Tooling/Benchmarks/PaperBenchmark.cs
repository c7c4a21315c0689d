using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PredGen.Shared.Data;
using PredGen.Training.Baselines;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;

namespace PredGen.Tooling.Benchmarks;

/// <summary>The budget every method gets on every task: the paper's protocol (same base, same steps, same
/// fine-tuning mode, the best learning rate of the same grid chosen on validation), scaled to a 2-core CPU.</summary>
public sealed record PaperBenchmarkOptions
{
    public IReadOnlyList<string> Tasks { get; init; } = ["spam", "sotu-year", "sotu-party", "syllables"];
    public IReadOnlyList<MethodKind> Methods { get; init; } = [MethodKind.Predictor, MethodKind.Generator, MethodKind.PredGen];

    /// <summary>Predictor poolings to compare (issue 12): mean (the pipeline's default) and/or last (the Hugging Face
    /// *ForSequenceClassification convention). A pooling other than mean is reported as "Predictor-last".</summary>
    public IReadOnlyList<PoolingKind> PredictorPoolings { get; init; } = [PoolingKind.Mean];
    public int Seeds { get; init; } = 3;
    public IReadOnlyList<double> LearningRates { get; init; } = [1e-3, 3e-3];
    public int Steps { get; init; } = 40;
    public int BatchSize { get; init; } = 8;
    public FineTuning FineTuning { get; init; } = FineTuning.Full;
    public int LoraRank { get; init; } = 8;
    public int MaxPromptTokens { get; init; } = 96;
    /// <summary>Rows used per split (0 = all of the data folder's split).</summary>
    public int TrainRows { get; init; }
    public int ValidationRows { get; init; } = 30;
    public int TestRows { get; init; } = 50;
    public int LatencyRows { get; init; } = 8;
    /// <summary>Add the classical baseline (TF-IDF n-grams + linear model) as a row of every task: the floor.</summary>
    public bool Baseline { get; init; } = true;
    public string DataDirectory { get; init; } = Path.Combine("data", "demo");
    public string BaseModelDirectory { get; init; } = Path.Combine("models", "base");
    public string OutDirectory { get; init; } = Path.Combine("runs", "bench-paper");
    public TorchOptions Torch { get; init; } = new() { Device = "cpu" };
}

public sealed record RunResult(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("learning_rate")] double LearningRate,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("validation_score")] double ValidationScore,
    [property: JsonPropertyName("test")] Metrics Test,
    [property: JsonPropertyName("train_seconds")] double TrainSeconds,
    [property: JsonPropertyName("latency_ms")] double LatencyMs);

public sealed record MethodSummary(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("learning_rate")] double LearningRate,
    [property: JsonPropertyName("seeds")] int Seeds,
    [property: JsonPropertyName("metrics")] IReadOnlyDictionary<string, MeanStd> Metrics,
    [property: JsonPropertyName("train_seconds")] double TrainSeconds,
    [property: JsonPropertyName("latency_ms")] double LatencyMs,
    [property: JsonPropertyName("runs")] IReadOnlyList<RunResult> Runs);

public sealed record MeanStd([property: JsonPropertyName("mean")] double Mean, [property: JsonPropertyName("std")] double Std)
{
    /// <summary>Half-width of the 95% confidence interval of the mean over seeds (Student t, n - 1 degrees of
    /// freedom); 0 for a single value.</summary>
    [JsonPropertyName("ci95")] public double HalfWidth95 { get; init; }

    [JsonPropertyName("n")] public int Count { get; init; }

    // Two-sided 97.5% quantiles of Student's t for 1..10 degrees of freedom; 1.96 beyond.
    private static readonly double[] T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

    public static MeanStd Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double mean = values.Average();
        double std = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        int df = values.Count - 1;
        double t = df <= 0 ? 0 : df <= T975.Length ? T975[df - 1] : 1.96;
        return new MeanStd(mean, std) { HalfWidth95 = values.Count > 1 ? t * std / Math.Sqrt(values.Count) : 0, Count = values.Count };
    }

    public string Format(string format) => $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {Std.ToString(format, CultureInfo.InvariantCulture)}";

    /// <summary>"mean ± std [low, high]" with the 95% interval of the mean.</summary>
    public string FormatWithInterval(string format)
    {
        var ci = CultureInfo.InvariantCulture;
        return Count > 1
            ? $"{Format(format)} [{(Mean - HalfWidth95).ToString(format, ci)}, {(Mean + HalfWidth95).ToString(format, ci)}]"
            : Format(format);
    }
}

public sealed record PaperBenchmarkReport(
    [property: JsonPropertyName("options")] PaperBenchmarkOptions Options,
    [property: JsonPropertyName("summaries")] IReadOnlyList<MethodSummary> Summaries,
    [property: JsonPropertyName("ordering")] IReadOnlyDictionary<string, string> Ordering,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds);

/// <summary>
/// `predgen bench paper`: Predictor, Generator and PredGen fine-tuned from one base on each task, and the classical
/// baseline (<see cref="TextBaseline"/>) on the same rows as the floor. Learning rate: for
/// each (task, method) every grid value is trained with the first seed and the best validation score wins; the other
/// seeds then run at that rate. Every run lands in {out}/{task}/{method}/lr{lr}/seed{seed}/ and is skipped when its
/// result.json exists, so an interrupted bench resumes where it stopped.
/// </summary>
public static class PaperBenchmark
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The baseline's row name in the summaries and the table.</summary>
    public const string BaselineMethod = "Baseline";

    public static PaperBenchmarkReport Run(PaperBenchmarkOptions options, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var summaries = new List<MethodSummary>();
        foreach (var task in options.Tasks)
        {
            string dataDir = SubsetData(options, task);
            var kind = PreparedRow.ReadJsonl(Path.Combine(dataDir, DatasetSplit.TrainFile))[0].Kind;
            foreach (var (method, pooling) in Variants(options))
            {
                var firstSeed = options.LearningRates.Select(lr => RunOne(options, task, kind, dataDir, method, pooling, lr, 1, log)).ToList();
                var best = firstSeed.OrderByDescending(r => r.ValidationScore).ThenBy(r => r.LearningRate).First();
                var runs = new List<RunResult> { best };
                for (int seed = 2; seed <= options.Seeds; seed++) runs.Add(RunOne(options, task, kind, dataDir, method, pooling, best.LearningRate, seed, log));
                summaries.Add(Summarize(task, kind, VariantName(method, pooling), best.LearningRate, runs));
            }
            if (options.Baseline) summaries.Add(RunBaseline(options, task, kind, dataDir, log));
        }
        // The paper's question orders the LM methods; the baseline is the floor they are read against, not a contestant.
        var ordering = summaries.Where(s => s.Method != BaselineMethod).GroupBy(s => s.Task).ToDictionary(g => g.Key, g => Ordering(g.ToList()));
        return new PaperBenchmarkReport(options, summaries, ordering, Math.Round(clock.Elapsed.TotalSeconds, 1));
    }

    private static IEnumerable<(MethodKind Method, PoolingKind Pooling)> Variants(PaperBenchmarkOptions options)
    {
        foreach (var method in options.Methods)
        {
            if (method != MethodKind.Predictor) yield return (method, PoolingKind.Mean);
            else foreach (var pooling in options.PredictorPoolings.Distinct()) yield return (method, pooling);
        }
    }

    private static string VariantName(MethodKind method, PoolingKind pooling) =>
        method == MethodKind.Predictor && pooling != PoolingKind.Mean ? $"{method}-{pooling.ToString().ToLowerInvariant()}" : method.ToString();

    /// <summary>The first N rows of each split (the demo splits are already in a fixed random order).</summary>
    private static string SubsetData(PaperBenchmarkOptions options, string task)
    {
        string source = Path.Combine(options.DataDirectory, task);
        string target = Path.Combine(options.OutDirectory, task, "data");
        Directory.CreateDirectory(target);
        foreach (var (split, cap) in new[] { (DatasetSplit.Train, options.TrainRows), (DatasetSplit.Validation, options.ValidationRows), (DatasetSplit.Test, options.TestRows) })
        {
            var rows = PreparedRow.ReadJsonl(Path.Combine(source, DatasetSplit.FileName(split)));
            PreparedRow.WriteJsonl(Path.Combine(target, DatasetSplit.FileName(split)), cap > 0 ? rows.Take(cap) : rows);
        }
        return target;
    }

    private static RunResult RunOne(PaperBenchmarkOptions options, string task, TaskKind kind, string dataDir, MethodKind method, PoolingKind pooling,
        double lr, int seed, TextWriter? log)
    {
        string name = VariantName(method, pooling);
        string runDir = Path.Combine(options.OutDirectory, task, name.ToLowerInvariant(),
            "lr" + lr.ToString("G3", CultureInfo.InvariantCulture), "seed" + seed.ToString(CultureInfo.InvariantCulture));
        string resultPath = Path.Combine(runDir, "result.json");
        if (File.Exists(resultPath)) return JsonSerializer.Deserialize<RunResult>(File.ReadAllText(resultPath))!;
        var train = new TrainOptions
        {
            Method = method,
            TaskKind = kind,
            Seed = seed,
            MaxSteps = options.Steps,
            BatchSize = options.BatchSize,
            LearningRate = lr,
            FineTuning = options.FineTuning,
            LoraRank = options.LoraRank,
            LoraAlpha = 2.0 * options.LoraRank,
            MaxPromptTokens = options.MaxPromptTokens,
            EvalEvery = options.Steps,
            EarlyStoppingPatience = 0,
            CheckpointEvery = options.Steps,
            MaxValidationRows = 0,
            Pooling = pooling,
            Torch = options.Torch,
        };
        log?.WriteLine($"{task} {name} lr {lr.ToString("G3", CultureInfo.InvariantCulture)} seed {seed} ...");
        var result = Trainer.Train(train, dataDir, options.BaseModelDirectory, runDir);
        double latency = MeasureLatency(result.ModelDirectory, PreparedRow.ReadJsonl(Path.Combine(dataDir, DatasetSplit.TestFile)).Take(options.LatencyRows).ToList(), options.Torch);
        var run = new RunResult(task, name, lr, seed, result.Validation?.Score ?? double.NegativeInfinity, result.Test,
            Math.Round(result.TrainSeconds, 1), Math.Round(latency, 2));
        File.WriteAllText(resultPath, JsonSerializer.Serialize(run, Json));
        // The fine-tuned weights are not needed once scored: keep the bench folder small.
        foreach (var dir in new[] { result.ModelDirectory, Path.Combine(runDir, Trainer.CheckpointsDirectoryName) })
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        log?.WriteLine($"  test {Headline(run.Test)}  train {run.TrainSeconds:F0}s  latency {run.LatencyMs:F1} ms/example");
        return run;
    }

    /// <summary>The classical baseline on the same subset splits (deterministic: one run, its L2 chosen on validation).</summary>
    private static MethodSummary RunBaseline(PaperBenchmarkOptions options, string task, TaskKind kind, string dataDir, TextWriter? log)
    {
        log?.WriteLine($"{task} baseline ...");
        var result = TextBaseline.Run(new BaselineOptions { TaskKind = kind }, dataDir, Path.Combine(options.OutDirectory, task, "baseline"));
        log?.WriteLine($"  test {Headline(result.Test)}  train {result.TrainSeconds:F1}s");
        return new MethodSummary(task, kind == TaskKind.Classification ? "classification" : "regression", BaselineMethod, 0, 1,
            MetricsOf(kind, [result.Test]), Math.Round(result.TrainSeconds, 1), 0, []);
    }

    /// <summary>Milliseconds per example, one request at a time (the serving path's worst case), after one warm-up.</summary>
    private static double MeasureLatency(string modelDir, List<PreparedRow> rows, TorchOptions torch)
    {
        if (rows.Count == 0) return double.NaN;
        using var model = TrainedModel.Load(modelDir, torch);
        var inputs = rows.Select(r => new TextInput(r.Text, r.TextB)).ToList();
        model.Predict([inputs[0]], withProbabilities: false, withText: false);
        var clock = Stopwatch.StartNew();
        foreach (var input in inputs) model.Predict([input], withProbabilities: false, withText: false);
        return clock.Elapsed.TotalMilliseconds / inputs.Count;
    }

    private static MethodSummary Summarize(string task, TaskKind kind, string method, double lr, List<RunResult> runs)
    {
        return new MethodSummary(task, kind == TaskKind.Classification ? "classification" : "regression", method, lr, runs.Count, MetricsOf(kind, [.. runs.Select(r => r.Test)]),
            Math.Round(runs.Average(r => r.TrainSeconds), 1), Math.Round(runs.Average(r => r.LatencyMs), 2), runs);
    }

    private static Dictionary<string, MeanStd> MetricsOf(TaskKind kind, IReadOnlyList<Metrics> tests)
    {
        var metrics = new Dictionary<string, MeanStd>(StringComparer.Ordinal);
        void Add(string name, Func<Metrics, double?> pick)
        {
            var values = tests.Select(pick).Where(v => v.HasValue && double.IsFinite(v.Value)).Select(v => v!.Value).ToList();
            if (values.Count > 0) metrics[name] = MeanStd.Of(values);
        }
        if (kind == TaskKind.Classification)
        {
            Add("accuracy", m => m.Accuracy);
            Add("macro_f1", m => m.MacroF1);
        }
        else
        {
            Add("mse", m => m.Mse);
            Add("mae", m => m.Mae);
            Add("pearson", m => m.Pearson);
        }
        return metrics;
    }

    /// <summary>Methods from best to worst on the primary metric (accuracy, or MSE lower-is-better), e.g. "PredGen > Generator > Predictor".</summary>
    internal static string Ordering(List<MethodSummary> summaries)
    {
        bool classification = summaries[0].Kind == "classification";
        string key = classification ? "accuracy" : "mse";
        // Methods with the same mean (e.g. all predicting the majority class) are shown as ties, not in list order.
        var tiers = summaries.Where(s => s.Metrics.ContainsKey(key))
            .GroupBy(s => Math.Round(s.Metrics[key].Mean, 9))
            .OrderBy(g => classification ? -g.Key : g.Key)
            .Select(g => string.Join(" = ", g.Select(s => s.Method)));
        return string.Join(" > ", tiers);
    }

    /// <summary>"spam: the best LM method, PredGen (accuracy 0.700), does not beat the baseline (0.960)", or null without a baseline row.</summary>
    internal static string? BaselineVerdict(List<MethodSummary> task)
    {
        bool classification = task[0].Kind == "classification";
        string key = classification ? "accuracy" : "mse";
        var floor = task.FirstOrDefault(s => s.Method == BaselineMethod && s.Metrics.ContainsKey(key));
        if (floor == null) return null;
        var lm = task.Where(s => s.Method != BaselineMethod && s.Metrics.ContainsKey(key)).ToList();
        var ci = CultureInfo.InvariantCulture;
        string format = classification ? "F3" : "G4";
        if (lm.Count == 0) return $"{floor.Task}: no LM method was scored; the baseline has {key} {floor.Metrics[key].Mean.ToString(format, ci)}";
        var best = classification ? lm.MaxBy(s => s.Metrics[key].Mean)! : lm.MinBy(s => s.Metrics[key].Mean)!;
        double m = best.Metrics[key].Mean, b = floor.Metrics[key].Mean;
        bool beats = classification ? m > b : m < b;
        return $"{floor.Task}: the best LM method, {best.Method} ({key} {m.ToString(format, ci)}), {(beats ? "beats" : "does not beat")} the baseline ({b.ToString(format, ci)})";
    }

    private static string Headline(Metrics m) => m.Kind == TaskKind.Classification
        ? string.Create(CultureInfo.InvariantCulture, $"accuracy {m.Accuracy:F3} macro-F1 {m.MacroF1:F3}")
        : string.Create(CultureInfo.InvariantCulture, $"MSE {m.Mse:G4} MAE {m.Mae:G4} Pearson {m.Pearson:F3}");

    /// <summary>The results page: the table, the command, the machine, and whether the paper's ordering holds.</summary>
    public static string Markdown(PaperBenchmarkReport report, string command, string machine)
    {
        ArgumentNullException.ThrowIfNull(report);
        var ci = CultureInfo.InvariantCulture;
        var o = report.Options;
        var md = new StringBuilder();
        md.AppendLine(ci, $"Command: `{command}`");
        md.AppendLine();
        md.AppendLine(ci, $"Machine: {machine}. Wall time of the whole bench: {report.WallSeconds / 60:F1} min.");
        md.AppendLine();
        md.AppendLine(ci, $"Budget, identical for every method: base `{o.BaseModelDirectory}`, {o.Steps} steps of batch {o.BatchSize}, " +
            $"{(o.FineTuning == FineTuning.Full ? "full fine-tuning" : $"LoRA rank {o.LoraRank}")}, prompts cut to {o.MaxPromptTokens} tokens, " +
            $"learning rate chosen on validation from {{{string.Join(", ", o.LearningRates.Select(l => l.ToString("G3", ci)))}}} with seed 1, " +
            $"then seeds 1..{o.Seeds} at that rate; data `{o.DataDirectory}` (train: {(o.TrainRows > 0 ? o.TrainRows.ToString(ci) : "all")} rows, " +
            $"validation {o.ValidationRows}, test {o.TestRows}). Mean ± sample std over seeds [95% interval of the mean, Student t]; latency = one request at a time, ms per example.");
        md.AppendLine();
        md.AppendLine("| task | method | lr | accuracy | macro-F1 | MSE | MAE | Pearson | train s | latency ms |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in report.Summaries)
        {
            string Cell(string name, string format) => s.Metrics.TryGetValue(name, out var v) ? v.FormatWithInterval(format) : "";
            bool floor = s.Method == BaselineMethod;
            md.AppendLine(ci, $"| {s.Task} | {(floor ? "*baseline (classical floor)*" : s.Method)} | {(floor ? "—" : s.LearningRate.ToString("G3", ci))} | {Cell("accuracy", "F3")} | {Cell("macro_f1", "F3")} | {Cell("mse", "G4")} | {Cell("mae", "G4")} | {Cell("pearson", "F3")} | {s.TrainSeconds:F0} | {(floor ? "—" : s.LatencyMs.ToString("F1", ci))} |");
        }
        if (report.Summaries.Any(s => s.Method == BaselineMethod))
        {
            md.AppendLine();
            md.AppendLine(ci, $"The baseline row is {TextBaseline.Describe(new BaselineOptions())} (ridge regression for numbers), trained on the same train rows: the floor a fine-tuned LM must beat.");
            md.AppendLine();
            foreach (var verdict in report.Summaries.GroupBy(s => s.Task).Select(g => BaselineVerdict(g.ToList())).OfType<string>()) md.AppendLine("- " + verdict);
        }
        md.AppendLine();
        md.AppendLine("Ordering on the primary metric (accuracy; MSE for regression), best first:");
        md.AppendLine();
        foreach (var (task, order) in report.Ordering) md.AppendLine(ci, $"- {task}: {order}");
        return md.ToString();
    }
}
