using System.Diagnostics;
using System.Text.Json.Serialization;
using PredGen.Shared.Data;
using PredGen.Training.Lora;
using PredGen.Training.Model;
using PredGen.Training.Optimization;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

using PredGen.Training.Methods;

using PredGen.Training.Checkpoints;

namespace PredGen.Tooling.Benchmarks;

public sealed record MethodsBenchmarkOptions
{
    /// <summary>Backbone for the timings: the project's Small config with random weights (timings do not depend on them).</summary>
    public int TrainBatch { get; init; } = 8;

    public int InferenceBatch { get; init; } = 16;

    /// <summary>Prompt length in tokens for the timings (a paragraph).</summary>
    public int PromptTokens { get; init; } = 128;

    public int TimedSteps { get; init; } = 8;

    /// <summary>Folder with syllables/ and spam/ prepared splits (data/demo); null or missing: the loss-variant part is skipped.</summary>
    public string? DataRoot { get; init; } = "data/demo";

    public int VariantSteps { get; init; } = 300;

    public int[] VariantSeeds { get; init; } = [1];

    public TorchOptions Torch { get; init; } = new() { Device = "cpu" };

    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "predgen-bench-methods");
}

/// <summary>One training step's CPU time: the Generator's (teacher forcing) and PredGen's at p = 0, 0.5 (per token) and 1.
/// PredGen decodes its own answer and feeds it on the prompt's cache at every p (the adapter reads it), so p only
/// decides how many rows need a second continuation. Ratio: PredGen's slowest of the three over the Generator's.</summary>
public sealed record StepTiming(
    [property: JsonPropertyName("fine_tuning")] string FineTuning,
    [property: JsonPropertyName("generator_step_cpu_ms")] double GeneratorMs,
    [property: JsonPropertyName("p0_step_cpu_ms")] double TeacherForcedMs,
    [property: JsonPropertyName("p05_step_cpu_ms")] double MixedMs,
    [property: JsonPropertyName("p1_step_cpu_ms")] double SampledMs,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("target")] double Target,
    [property: JsonPropertyName("meets_target")] bool MeetsTarget);

public sealed record InferenceTiming(
    [property: JsonPropertyName("labels")] int Labels,
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("predictor_cpu_ms")] double PredictorMs,
    [property: JsonPropertyName("predgen_label_scoring_cpu_ms")] double PredGenMs,
    [property: JsonPropertyName("generator_greedy_cpu_ms")] double GeneratorGreedyMs,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("target")] double Target,
    [property: JsonPropertyName("meets_target")] bool MeetsTarget);

public sealed record VariantResult(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("loss")] string Loss,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("test")] double Test,
    [property: JsonPropertyName("validation")] double Validation,
    [property: JsonPropertyName("final_l_w")] double? FinalWriterLoss,
    [property: JsonPropertyName("final_l_d")] double? FinalDirectorLoss,
    [property: JsonPropertyName("seconds")] double Seconds);

public sealed record MethodsBenchmarkResult(
    [property: JsonPropertyName("machine")] string Machine,
    [property: JsonPropertyName("backbone")] string Backbone,
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("train_batch")] int TrainBatch,
    [property: JsonPropertyName("predgen_step")] IReadOnlyList<StepTiming> Steps,
    [property: JsonPropertyName("classification_inference")] IReadOnlyList<InferenceTiming> Inference,
    [property: JsonPropertyName("loss_variants")] IReadOnlyList<VariantResult> Variants,
    [property: JsonPropertyName("loss_variant_ranking")] IReadOnlyList<string> Ranking,
    [property: JsonPropertyName("notes")] IReadOnlyList<string> Notes);

/// <summary>
/// `predgen bench methods`: (1) a PredGen training step (own answer decoded on a fork of the prompt's cache, fed on
/// that cache; p = 0, 0.5, 1) against a Generator step (target ≤ 1.5×); (2) PredGen classification inference
/// with exact label scoring against the Predictor at the same batch (target ≤ 1.2×); (3) the three loss variants
/// trained on real demo data, which decides the default.
/// </summary>
public static class MethodsBenchmark
{
    private static readonly int[] LabelCounts = [2, 4, 8];
    // Byte labels of different lengths (3 to 8 bytes), as real label sets have: scoring must not pay for padding.
    private static readonly string[] BenchLabels = ["spam", "ham", "neutral", "mixed", "positive", "negative", "question", "other"];

    public static MethodsBenchmarkResult Run(MethodsBenchmarkOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        log ??= _ => { };
        TorchRuntime.Apply(options.Torch);
        var notes = new List<string>();
        var config = LlamaConfig.Small(ByteTokenizer.Size);
        var steps = new List<StepTiming>();
        foreach (var fineTuning in new[] { FineTuning.Lora, FineTuning.Full })
        {
            log($"timing PredGen training steps ({fineTuning})");
            steps.Add(TimeSteps(options, config, fineTuning));
        }
        var inference = new List<InferenceTiming>();
        foreach (int labels in LabelCounts)
        {
            log($"timing classification inference ({labels} labels)");
            inference.Add(TimeInference(options, config, labels));
        }
        var variants = new List<VariantResult>();
        var ranking = new List<string>();
        if (options.DataRoot != null && Directory.Exists(Path.Combine(options.DataRoot, "syllables")))
        {
            variants.AddRange(CompareVariants(options, log));
            ranking.AddRange(Rank(variants));
        }
        else
        {
            notes.Add(options.DataRoot == null ? "loss variants skipped (--skip-variants)"
                : $"loss variants skipped: no {options.DataRoot}/syllables (run `predgen datasets fetch --demo` or pass --data-root)");
        }
        notes.Add("timings: median CPU time of this process (all threads) per step/batch after 2 warm-up rounds, the two kinds interleaved, same inputs; CPU time rather than wall time because the machine is shared");
        return new MethodsBenchmarkResult(
            $"{Environment.ProcessorCount} cores, torch threads {get_num_threads()}, {TorchRuntime.ResolveDevice(options.Torch)}",
            $"LlamaConfig.Small (hidden {config.HiddenSize}, {config.NumHiddenLayers} layers), random weights",
            options.PromptTokens, options.TrainBatch, steps, inference, variants, ranking, notes);
    }

    private static List<TextInput> LongInputs(int count, int tokens, int seed)
    {
        var random = new Random(seed);
        string[] words = ["market", "season", "report", "growth", "winter", "policy", "river", "engine", "signal", "garden"];
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var text = new System.Text.StringBuilder();
            while (text.Length < tokens - 24) text.Append(words[random.Next(words.Length)]).Append(' ');
            return new TextInput(text.ToString().TrimEnd());
        })];
    }

    private static MethodNetwork Network(LlamaConfig config, MethodKind method, TaskKind kind, IReadOnlyList<string>? labels, NumberFormat? format, FineTuning fineTuning, TorchOptions torch)
    {
        // Through a checkpoint folder, so device and dtype come from the options exactly as in training.
        string dir = Path.Combine(Path.GetTempPath(), "predgen-bench-methods", $"random-{config.HiddenSize}x{config.NumHiddenLayers}");
        if (!File.Exists(Path.Combine(dir, ModelDirectory.ConfigFile))) SyntheticTasks.WriteRandomBase(dir, config, seed: 5);
        var (backbone, tokenizer) = ModelDirectory.Load(dir, torch);
        if (fineTuning == FineTuning.Lora) LoraAdapters.Apply(backbone, new LoraOptions(8, 16, 0.05));
        var card = new ModelCard
        {
            Method = method,
            TaskKind = kind,
            Labels = labels,
            NumberFormat = format,
            AnswerPositions = method == MethodKind.Predictor ? 0 : MethodNetwork.AnswerPositions(kind, labels, format, tokenizer),
            AdapterReadsPromptState = method == MethodKind.PredGen,
            AdapterHidden = config.HiddenSize,
            HiddenSize = config.HiddenSize,
            MaxPromptTokens = 512,
        };
        return new MethodNetwork(backbone, tokenizer, card);
    }

    private static StepTiming TimeSteps(MethodsBenchmarkOptions options, LlamaConfig config, FineTuning fineTuning)
    {
        var format = new NumberFormat(HasSign: false, IntegerDigits: 2, Decimals: 2);   // "37.25": 5 answer tokens + EOS
        using var network = Network(config, MethodKind.PredGen, TaskKind.Regression, null, format, fineTuning, options.Torch);
        network.Backbone.train();
        network.Head!.train();
        var grammar = (NumberGrammar)network.Grammar!;
        var inputs = LongInputs(options.TrainBatch, options.PromptTokens, 1);
        var prompts = inputs.Select(network.Prompt).ToList();
        var values = Enumerable.Range(0, options.TrainBatch).Select(i => 10.0 + 7.31 * i).ToList();
        var answers = values.Select(grammar.Encode).ToList();
        var targets = tensor(values.Select(v => (float)((v - 35) / 20)).ToArray());
        var parameters = network.Backbone.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter, 1.0))
            .Concat(network.Head.named_parameters().Select(p => ("head." + p.name, p.parameter, 1.0)));
        using var optimizer = new AdamW(parameters, 0.9, 0.999, 1e-8, 0.01);
        var all = new bool[options.TrainBatch, format.Length];
        for (int b = 0; b < options.TrainBatch; b++) for (int t = 0; t < format.Length; t++) all[b, t] = true;
        var half = new ScheduledSampling(SamplingSchedule.Linear, 0.5, 0.5, 1, SamplingMixing.PerToken).DrawMask(options.TrainBatch, format.Length, 0.5, new Random(3));

        double Update(Func<Tensor> loss) => CpuMilliseconds(() =>
        {
            using var scope = NewDisposeScope();
            loss().backward();
            nn.utils.clip_grad_norm_(optimizer.Parameters, 1.0);
            optimizer.Step(1e-5);
            optimizer.ZeroGrad();
        });
        // The trainer's own objectives (MethodObjective), so the timing is of the step that trains.
        double Generator() => Update(() => GeneratorObjective.Loss(network, prompts, answers, trainOnPrompt: false, digitWeights: true).Total);
        double PredGen(bool[,]? mask) => Update(() =>
            PredGenObjective.Loss(network, prompts, answers, targets, mask, trainOnPrompt: false, digitWeights: true, LossVariant.WdalStabilized).Total);

        // Interleave the kinds of step so drifting machine load hits all alike.
        for (int i = 0; i < 2; i++) { Generator(); PredGen(null); PredGen(half); PredGen(all); }
        var generator = new List<double>();
        var teacher = new List<double>();
        var mixed = new List<double>();
        var sampled = new List<double>();
        for (int i = 0; i < options.TimedSteps; i++)
        {
            generator.Add(Generator());
            teacher.Add(PredGen(null));
            mixed.Add(PredGen(half));
            sampled.Add(PredGen(all));
        }
        double g = Median(generator), p0 = Median(teacher), p05 = Median(mixed), p1 = Median(sampled);
        double ratio = Math.Max(p0, Math.Max(p05, p1)) / g;
        return new StepTiming(fineTuning.ToString().ToLowerInvariant(), Math.Round(g, 1), Math.Round(p0, 1), Math.Round(p05, 1), Math.Round(p1, 1),
            Math.Round(ratio, 3), 1.5, ratio <= 1.5);
    }

    private static InferenceTiming TimeInference(MethodsBenchmarkOptions options, LlamaConfig config, int labelCount)
    {
        string[] labels = [.. BenchLabels.Take(labelCount).Order(StringComparer.Ordinal)];
        using var predictor = Network(config, MethodKind.Predictor, TaskKind.Classification, labels, null, FineTuning.Full, options.Torch);
        using var predgen = Network(config, MethodKind.PredGen, TaskKind.Classification, labels, null, FineTuning.Full, options.Torch);
        using var generator = Network(config, MethodKind.Generator, TaskKind.Classification, labels, null, FineTuning.Full, options.Torch);
        foreach (var n in new[] { predictor, predgen, generator })
        {
            n.Backbone.eval();
            n.Head?.eval();
        }
        var inputs = LongInputs(options.InferenceBatch, options.PromptTokens, 2);
        double Time(MethodNetwork n, bool probabilities) => CpuMilliseconds(() => Inference.Predict(n, inputs, probabilities, withText: true));
        for (int i = 0; i < 2; i++) { Time(predictor, true); Time(predgen, true); Time(generator, false); }
        var a = new List<double>();
        var b = new List<double>();
        var c = new List<double>();
        for (int i = 0; i < options.TimedSteps; i++)
        {
            a.Add(Time(predictor, true));
            b.Add(Time(predgen, true));
            c.Add(Time(generator, false));
        }
        double pa = Median(a), pb = Median(b);
        return new InferenceTiming(labelCount, options.InferenceBatch, Math.Round(pa, 1), Math.Round(pb, 1), Math.Round(Median(c), 1),
            Math.Round(pb / pa, 3), 1.2, pb / pa <= 1.2);
    }

    private static IEnumerable<VariantResult> CompareVariants(MethodsBenchmarkOptions options, Action<string> log)
    {
        Directory.CreateDirectory(options.WorkDirectory);
        string baseDir = Path.Combine(options.WorkDirectory, "tiny-base");
        if (!File.Exists(Path.Combine(baseDir, "config.json"))) SyntheticTasks.WriteRandomBase(baseDir);
        var tasks = new List<(string Name, TaskKind Kind)> { ("syllables", TaskKind.Regression) };
        if (Directory.Exists(Path.Combine(options.DataRoot!, "spam"))) tasks.Add(("spam", TaskKind.Classification));
        foreach (var (task, kind) in tasks)
            foreach (var loss in Enum.GetValues<LossVariant>())
                foreach (int seed in options.VariantSeeds)
                {
                    log($"loss variant {loss} on {task} (seed {seed})");
                    string outDir = Path.Combine(options.WorkDirectory, $"{task}-{loss}-{seed}".ToLowerInvariant());
                    if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
                    var train = new TrainOptions
                    {
                        Method = MethodKind.PredGen,
                        TaskKind = kind,
                        Seed = seed,
                        MaxSteps = options.VariantSteps,
                        BatchSize = 16,
                        LearningRate = 2e-3,
                        WarmupRatio = 0.1,
                        FineTuning = FineTuning.Full,
                        EvalEvery = Math.Max(1, options.VariantSteps / 3),
                        EarlyStoppingPatience = 0,
                        CheckpointEvery = 0,
                        Loss = loss,
                        MaxPromptTokens = 96,
                        MaxValidationRows = 200,
                        Torch = options.Torch,
                    };
                    var clock = Stopwatch.StartNew();
                    var result = Trainer.Train(train, Path.Combine(options.DataRoot!, task), baseDir, outDir);
                    var (lw, ld) = LastLosses(Path.Combine(outDir, Trainer.StepMetricsFileName));
                    bool cls = kind == TaskKind.Classification;
                    yield return new VariantResult(task, loss.ToString(), seed, cls ? "accuracy" : "mse",
                        Math.Round(cls ? result.Test.Accuracy!.Value : result.Test.Mse!.Value, 4),
                        Math.Round(cls ? result.Validation!.Accuracy!.Value : result.Validation!.Mse!.Value, 4),
                        lw, ld, Math.Round(clock.Elapsed.TotalSeconds, 1));
                }
    }

    /// <summary>Variants ordered by mean rank over tasks (test metric; accuracy higher, MSE lower is better).</summary>
    private static IEnumerable<string> Rank(List<VariantResult> results)
    {
        var rank = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var group in results.GroupBy(r => r.Task))
        {
            var means = group.GroupBy(r => r.Loss).Select(g => (Loss: g.Key, Score: g.Average(r => r.Metric == "mse" ? -r.Test : r.Test))).OrderByDescending(x => x.Score).ToList();
            for (int i = 0; i < means.Count; i++) rank[means[i].Loss] = rank.GetValueOrDefault(means[i].Loss) + i;
        }
        return rank.OrderBy(kv => kv.Value).Select(kv => kv.Key);
    }

    private static (double?, double?) LastLosses(string metricsJsonl)
    {
        double? lw = null, ld = null;
        foreach (var line in File.ReadLines(metricsJsonl).Reverse())
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(line);
            if (node?["l_w"] is { } w) { lw = Math.Round(w.GetValue<double>(), 4); ld = node["l_d"] is { } d ? Math.Round(d.GetValue<double>(), 4) : null; break; }
        }
        return (lw, ld);
    }

    /// <summary>
    /// CPU time this process spent (all threads): on a shared machine wall time mostly measures the neighbours, while
    /// the CPU time of the work is what a step costs. With one torch thread it equals the single-core wall time.
    /// </summary>
    private static double CpuMilliseconds(Action work)
    {
        using var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        work();
        process.Refresh();
        return (process.TotalProcessorTime - before).TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
