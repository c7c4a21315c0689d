using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PredGen.Shared.Data;
using PredGen.Training.Checkpoints;
using PredGen.Training.Data;
using PredGen.Training.Lora;
using PredGen.Training.Model;
using PredGen.Training.Optimization;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using TorchSharp.Modules;
using AdamW = PredGen.Training.Optimization.AdamW;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// Fine-tunes a base checkpoint with one of the three methods. Reads {dataDir}/train.jsonl, validation.jsonl and
/// test.jsonl (<see cref="PreparedRow"/>; without validation.jsonl a validation split is carved from train, without
/// test.jsonl there are no test metrics) and writes into outDir: metrics.json (test metrics, where each split came from
/// and the settings used),
/// metrics.jsonl (one line per step and per validation), test_predictions.jsonl, checkpoints/ (resumed from when
/// present) and model/ (what <see cref="TrainedModel.Load"/> reads).
/// <para>Deterministic on the CPU: every random draw is a function of (seed, step) — the data order, the scheduled
/// sampling draws and torch's generator (LoRA dropout) are re-seeded per step — so a run resumed from a checkpoint
/// takes exactly the steps the uninterrupted run would have.</para>
/// </summary>
public static class Trainer
{
    public const string MetricsFileName = "metrics.json";
    public const string StepMetricsFileName = "metrics.jsonl";
    public const string TestPredictionsFileName = "test_predictions.jsonl";
    public const string CheckpointsDirectoryName = TrainingCheckpoint.DirectoryName;
    public const string ModelDirectoryName = "model";
    private const string BestFile = "best.safetensors";

    /// <summary>metrics.json's test_split when the data has no test.jsonl (the "test" metrics are then empty).</summary>
    public const string NoTestSplit = "no test split";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>How metrics.json is written (and read back, e.g. by the learning-rate search).</summary>
    public static JsonSerializerOptions JsonOptions => Json;

    /// <summary>Optimizer steps a run takes: <see cref="TrainOptions.MaxSteps"/>, else epochs over the training rows.</summary>
    public static int TotalSteps(TrainOptions options, int trainRows)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Shared.Jobs.TrainingDefaults.TotalSteps(options.MaxSteps, options.Epochs, options.BatchSize * options.GradientAccumulation, trainRows);
    }

    /// <summary>The same, counting the rows of {dataDir}/train.jsonl.</summary>
    public static int TotalSteps(TrainOptions options, string dataDir)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxSteps > 0) return options.MaxSteps;
        return TotalSteps(options, TrainingData.ReadSplit(dataDir, DatasetSplit.Train, options.TaskKind, required: true).Count);
    }

    public static TrainResult Train(TrainOptions options, string dataDir, string baseModelDir, string outDir,
        IProgress<TrainProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Train(options, dataDir, baseModelDir, outDir, trials: null, progress, cancellationToken);

    /// <param name="trials">The learning-rate search's trials that chose <paramref name="options"/> (recorded in
    /// metrics.json, which is written once, here); null when the caller fixed the settings.</param>
    public static TrainResult Train(TrainOptions options, string dataDir, string baseModelDir, string outDir, IReadOnlyList<Tuning.TrialResult>? trials,
        IProgress<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        var trainFile = TrainingData.ReadSplit(dataDir, DatasetSplit.Train, options.TaskKind, required: true);
        var validationFile = TrainingData.ReadSplit(dataDir, DatasetSplit.Validation, options.TaskKind, required: false);
        var test = TrainingData.ReadSplit(dataDir, DatasetSplit.Test, options.TaskKind, required: false);
        var (train, validation, validationSplit) = validationFile.Count > 0
            ? (trainFile, validationFile, DatasetSplit.ValidationFile)
            : TrainingData.CarveValidation(trainFile);
        string testSplit = test.Count > 0 ? DatasetSplit.TestFile : NoTestSplit;
        if (options.MaxValidationRows > 0 && validation.Count > options.MaxValidationRows) validation = [.. validation.Take(options.MaxValidationRows)];

        TorchRuntime.Apply(options.Torch);
        manual_seed(options.Seed);
        var (backbone, tokenizer) = ModelDirectory.Load(baseModelDir, options.Torch);
        if (options.FineTuning == FineTuning.Lora)
            LoraAdapters.Apply(backbone, new LoraOptions(options.LoraRank, options.LoraAlpha, options.LoraDropout));
        // The label set and number format: the preparer's (options.AnswerFormat), else from every training row, the
        // carved validation rows included.
        var card = ModelCard.For(options, trainFile, tokenizer, backbone.Config, baseModelDir);
        manual_seed(options.Seed + 1);
        using var network = new MethodNetwork(backbone, tokenizer, card);

        Directory.CreateDirectory(outDir);
        string checkpoints = Path.Combine(outDir, CheckpointsDirectoryName);
        Directory.CreateDirectory(checkpoints);

        var named = TrainableParameters(network);
        double headScale = options.HeadLearningRate > 0 ? options.HeadLearningRate / options.LearningRate : 1;
        using var optimizer = new AdamW(named.Select(p => (p.Name, p.Parameter, p.Name.StartsWith("head.", StringComparison.Ordinal) ? headScale : 1.0)),
            options.Beta1, options.Beta2, options.AdamEpsilon, options.WeightDecay);

        int examplesPerStep = options.BatchSize * options.GradientAccumulation;
        int stepsPerEpoch = Math.Max(1, (train.Count + examplesPerStep - 1) / examplesPerStep);
        int totalSteps = TotalSteps(options, train.Count);
        int evalEvery = options.EvalEvery > 0 ? options.EvalEvery : stepsPerEpoch;
        int warmupSteps = (int)Math.Round(options.WarmupRatio * totalSteps);
        var sampling = ScheduledSampling.From(options, totalSteps);

        var state = new RunState();
        int? resumedFrom = null;
        string stepMetricsPath = Path.Combine(outDir, StepMetricsFileName);
        if (TrainingCheckpoint.Exists(checkpoints))
        {
            state = TrainingCheckpoint.Restore<RunState>(checkpoints, named, optimizer, Json);
            resumedFrom = state.Step;
            TruncateStepMetrics(stepMetricsPath, state.Step);
        }
        else if (File.Exists(stepMetricsPath))
        {
            File.Delete(stepMetricsPath);
        }

        using var metricsLog = new StreamWriter(stepMetricsPath, append: true);
        bool interrupted = false;
        backbone.train();
        network.Head?.train();
        var window = Stopwatch.StartNew();
        int windowExamples = 0, windowTokens = 0;
        while (state.Step < totalSteps && !state.StoppedEarly)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int step = state.Step;
            manual_seed(TrainingData.Mix(options.Seed, step, 0x5eed));
            double lr = WarmupCosineSchedule.LearningRate(step, totalSteps, warmupSteps, options.LearningRate, options.MinLearningRateRatio);
            double p = options.Method == MethodKind.PredGen ? sampling.Probability(step) : 0;
            var random = new Random((int)(TrainingData.Mix(options.Seed, step, 0x55) & 0x7fffffff));
            double loss = 0, writer = 0, director = 0;
            bool hasWriter = false, hasDirector = false;
            for (int micro = 0; micro < options.GradientAccumulation; micro++)
            {
                var batch = TrainingData.Batch(train, options.Seed, (step * options.GradientAccumulation + micro) * options.BatchSize, options.BatchSize);
                using var scope = NewDisposeScope();
                var stepLoss = MethodObjective.Loss(network, options, batch, sampling, p, random, out int tokens);
                (stepLoss.Total / options.GradientAccumulation).backward();
                loss += stepLoss.Loss / options.GradientAccumulation;
                if (stepLoss.WriterLoss is double w) { writer += w / options.GradientAccumulation; hasWriter = true; }
                if (stepLoss.DirectorLoss is double d) { director += d / options.GradientAccumulation; hasDirector = true; }
                windowExamples += batch.Count;
                windowTokens += tokens;
            }
            double gradNorm = options.MaxGradNorm > 0
                ? nn.utils.clip_grad_norm_(optimizer.Parameters, options.MaxGradNorm)
                : double.NaN;
            optimizer.Step(lr);
            optimizer.ZeroGrad();
            state.Step = step + 1;

            double seconds = Math.Max(1e-9, window.Elapsed.TotalSeconds);
            var line = new JsonObject
            {
                ["step"] = state.Step,
                ["epoch"] = Math.Round(state.Step / (double)stepsPerEpoch, 4),
                ["loss"] = loss,
                ["lr"] = lr,
                ["grad_norm"] = double.IsFinite(gradNorm) ? gradNorm : null,
            };
            if (hasWriter) line["l_w"] = writer;
            if (hasDirector) line["l_d"] = director;
            if (options.Method == MethodKind.PredGen)
            {
                line["wdal"] = loss;
                line["loss_variant"] = options.Loss.ToString();
                line["p"] = p;
            }
            line["examples_per_s"] = windowExamples / seconds;
            line["tokens_per_s"] = windowTokens / seconds;
            metricsLog.WriteLine(line.ToJsonString());
            double examplesPerSecond = windowExamples / seconds;
            window.Restart();
            windowExamples = windowTokens = 0;

            Metrics? validationMetrics = null;
            bool evaluate = state.Step % evalEvery == 0 || state.Step == totalSteps;
            if (evaluate)
            {
                validationMetrics = EvaluateRows(network, validation, options.EvalBatchSize);
                bool improved = state.BestScore is not double best || validationMetrics.Score > best;
                if (improved)
                {
                    state.BestScore = validationMetrics.Score;
                    state.BestStep = state.Step;
                    state.BadEvaluations = 0;
                    SafeTensors.Write(Path.Combine(checkpoints, BestFile), named.ToDictionary(n => n.Name, n => (Tensor)n.Parameter, StringComparer.Ordinal));
                }
                else
                {
                    state.BadEvaluations++;
                    if (options.EarlyStoppingPatience > 0 && state.BadEvaluations >= options.EarlyStoppingPatience) state.StoppedEarly = true;
                }
                var evalLine = new JsonObject { ["step"] = state.Step, ["split"] = DatasetSplit.Validation };
                foreach (var (k, v) in JsonSerializer.SerializeToNode(validationMetrics)!.AsObject()) evalLine[k] = v?.DeepClone();
                metricsLog.WriteLine(evalLine.ToJsonString());
                backbone.train();
                network.Head?.train();
            }
            progress?.Report(new TrainProgress(state.Step, totalSteps, loss, lr, p, examplesPerSecond, validationMetrics));

            bool stopNow = options.StopAfterSteps is int stop && state.Step >= stop && state.Step < totalSteps && !state.StoppedEarly;
            if (evaluate || stopNow || (options.CheckpointEvery > 0 && state.Step % options.CheckpointEvery == 0))
            {
                metricsLog.Flush();
                TrainingCheckpoint.Save(checkpoints, state.Step, state, named, optimizer, Json);
            }
            if (stopNow)
            {
                interrupted = true;
                break;
            }
        }
        metricsLog.Flush();

        string modelDir = Path.Combine(outDir, ModelDirectoryName);
        if (interrupted)
        {
            return new TrainResult
            {
                Method = options.Method, Test = new Metrics { Kind = options.TaskKind }, TestSplit = testSplit, ValidationSplit = validationSplit,
                Steps = state.Step, BestStep = state.BestStep,
                Interrupted = true, ResumedFromStep = resumedFrom, TrainSeconds = clock.Elapsed.TotalSeconds, Settings = options,
                ModelDirectory = modelDir,
            };
        }

        // Keep the best validated weights (early stopping's model selection).
        string bestPath = Path.Combine(checkpoints, BestFile);
        if (File.Exists(bestPath)) NamedWeights.ReadInto(bestPath, named);
        backbone.eval();
        network.Head?.eval();
        var validationFinal = EvaluateRows(network, validation, options.EvalBatchSize);
        // Without a test file there is no test metric: validation picked the weights, so its score under "test" would
        // be optimistic, and the training rows' more so. A search trial scores no test split at all.
        var testMetrics = new Metrics { Kind = options.TaskKind };
        string testPredictionsPath = Path.Combine(outDir, TestPredictionsFileName);
        if (test.Count > 0 && options.EvaluateTest)
        {
            var testPredictions = Inference.PredictRows(network, test, options.EvalBatchSize, withText: true);
            testMetrics = Evaluation.Score(options.TaskKind, test, testPredictions);
            Evaluation.WritePredictions(testPredictionsPath, test, testPredictions);
        }
        else if (File.Exists(testPredictionsPath))
        {
            File.Delete(testPredictionsPath);
        }

        if (options.SaveModel)
        {
            if (options.FineTuning == FineTuning.Lora) LoraAdapters.Merge(backbone);
            TrainedModel.Save(network, modelDir);
        }
        // A finished run needs no resumable state (tens of MB per trial); the best weights are in model/.
        if (!options.SaveModel && Directory.Exists(checkpoints)) Directory.Delete(checkpoints, recursive: true);

        var result = new TrainResult
        {
            Method = options.Method,
            Test = testMetrics,
            TestSplit = testSplit,
            Validation = validationFinal,
            ValidationSplit = validationSplit,
            Steps = state.Step,
            BestStep = state.BestStep,
            StoppedEarly = state.StoppedEarly,
            ResumedFromStep = resumedFrom,
            TrainSeconds = clock.Elapsed.TotalSeconds,
            Settings = options,
            Trials = trials,
            ModelDirectory = modelDir,
        };
        File.WriteAllText(Path.Combine(outDir, MetricsFileName), JsonSerializer.Serialize(result, Json));
        return result;
    }

    private static Metrics EvaluateRows(MethodNetwork network, IReadOnlyList<PreparedRow> rows, int batchSize)
    {
        network.Backbone.eval();
        network.Head?.eval();
        return Evaluation.Score(network.Card.TaskKind, rows, Inference.PredictRows(network, rows, batchSize, withText: true));
    }

    private static List<(string Name, Parameter Parameter)> TrainableParameters(MethodNetwork network)
    {
        var list = network.Backbone.named_parameters().Where(p => p.parameter.requires_grad).Select(p => ("backbone." + p.name, p.parameter)).ToList();
        if (network.Head != null) list.AddRange(network.Head.named_parameters().Select(p => ("head." + p.name, p.parameter)));
        return list;
    }

    private static void TruncateStepMetrics(string path, int step)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadAllLines(path).Where(l =>
        {
            try { return JsonNode.Parse(l)?["step"]?.GetValue<int>() is int s && s <= step; }
            catch (JsonException) { return false; }
        }).ToList();
        File.WriteAllLines(path, kept);
    }

    private sealed class RunState
    {
        public int Step { get; set; }
        public double? BestScore { get; set; }
        public int BestStep { get; set; }
        public int BadEvaluations { get; set; }
        public bool StoppedEarly { get; set; }
    }
}
