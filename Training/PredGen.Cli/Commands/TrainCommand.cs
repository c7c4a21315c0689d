using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Training.Methods.Tuning;
using Spectre.Console;

namespace PredGen.Cli.Commands;

/// <summary>`predgen train`: fine-tune a base checkpoint with Predictor, Generator or PredGen (issue 4).</summary>
public sealed class TrainCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "folder with train.jsonl, validation.jsonl, test.jsonl (prepared rows)", Required = true };
        var taskKind = new Option<string>("--task-kind") { Description = "classification | regression", Required = true };
        var method = new Option<string>("--method") { Description = "predictor | generator | predgen", DefaultValueFactory = _ => "predgen" };
        var baseModel = new Option<DirectoryInfo>("--base") { Description = "base checkpoint folder (config.json, model.safetensors, tokenizer)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "output folder: metrics.json, metrics.jsonl, checkpoints/, model/", Required = true };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var maxSteps = new Option<int>("--max-steps") { Description = "optimizer steps (0: from --epochs)" };
        var epochs = new Option<double>("--epochs") { DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 8 };
        var accumulation = new Option<int>("--grad-accum") { Description = "micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var lr = new Option<double?>("--lr") { Description = "peak learning rate; without it, short trials on the validation split choose it (and full vs LoRA)" };
        var headLr = new Option<double>("--head-lr") { Description = "learning rate of the Predictor head / PredGen adapter (0: --lr)" };
        var warmup = new Option<double>("--warmup-ratio") { DefaultValueFactory = _ => 0.06 };
        var clip = new Option<double>("--max-grad-norm") { DefaultValueFactory = _ => 1.0 };
        var fineTuning = new Option<string?>("--fine-tuning") { Description = "lora | full (default: chosen with the learning rate, or full when --lr is given)" };
        var loraRank = new Option<int>("--lora-rank") { DefaultValueFactory = _ => 8 };
        var loss = new Option<string>("--loss") { Description = "PredGen loss: wdal | wdal-stabilized | sum", DefaultValueFactory = _ => "wdal-stabilized" };
        var schedule = new Option<string>("--schedule") { Description = "scheduled sampling: linear | inverse-sigmoid | exponential", DefaultValueFactory = _ => "linear" };
        var mixing = new Option<string>("--mixing") { Description = "per-token | per-batch", DefaultValueFactory = _ => "per-token" };
        var pMin = new Option<double>("--p-min") { Description = "scheduled sampling p at the start" };
        var pMax = new Option<double>("--p-max") { Description = "scheduled sampling p at the end of the ramp", DefaultValueFactory = _ => new TrainOptions().SamplingMax };
        var ramp = new Option<int>("--ramp-steps") { Description = "steps from p-min to p-max (0: the whole run)" };
        var pooling = new Option<string>("--pooling") { Description = "Predictor pooling: mean | last", DefaultValueFactory = _ => "mean" };
        var head = new Option<string>("--predictor-head") { Description = "Predictor head: linear | mlp (the width of PredGen's adapter, to rule capacity out)", DefaultValueFactory = _ => "linear" };
        var trainOnPrompt = new Option<bool>("--train-on-prompt") { Description = "Generator/PredGen: also train on the prompt tokens" };
        var answerOnlyAdapter = new Option<bool>("--adapter-answer-only") { Description = "PredGen: the task adapter reads the answer's states only, not also the prompt's last state that wrote its first token (the design before it; for comparisons)" };
        var evalEvery = new Option<int>("--eval-every") { Description = "validate every N steps (0: once per epoch)" };
        var patience = new Option<int>("--patience") { Description = "early stopping patience in validations (0: off)", DefaultValueFactory = _ => 3 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 50 };
        var maxPrompt = new Option<int>("--max-prompt-tokens") { DefaultValueFactory = _ => 256 };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "float32 | bfloat16 | float16", DefaultValueFactory = _ => "float32" };
        var threads = new Option<int>("--threads") { Description = "torch intra-op threads (0: libtorch default)" };
        var json = new Option<bool>("--json") { Description = "print the result (metrics.json) as one JSON object, no progress bar" };

        var command = new Command("train", "Fine-tune a base checkpoint with Predictor, Generator or PredGen; writes <out>/metrics.json and <out>/model.")
        {
            data, taskKind, method, baseModel, output, seed, maxSteps, epochs, batch, accumulation, lr, headLr, warmup, clip,
            fineTuning, loraRank, loss, schedule, mixing, pMin, pMax, ramp, pooling, head, trainOnPrompt, answerOnlyAdapter, evalEvery, patience,
            checkpointEvery, maxPrompt, device, dtype, threads, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            IReadOnlyList<TrialResult>? trialResults = null;
            var options = new TrainOptions
            {
                Method = CliNames.Parse<MethodKind>(parse.GetValue(method)!, "--method"),
                TaskKind = CliNames.Parse<TaskKind>(parse.GetValue(taskKind)!, "--task-kind"),
                Seed = parse.GetValue(seed),
                MaxSteps = parse.GetValue(maxSteps),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batch),
                GradientAccumulation = parse.GetValue(accumulation),
                LearningRate = parse.GetValue(lr) ?? new TrainOptions().LearningRate,
                HeadLearningRate = parse.GetValue(headLr),
                WarmupRatio = parse.GetValue(warmup),
                MaxGradNorm = parse.GetValue(clip),
                FineTuning = parse.GetValue(fineTuning) is string ft ? CliNames.Parse<FineTuning>(ft, "--fine-tuning") : new TrainOptions().FineTuning,
                LoraRank = parse.GetValue(loraRank),
                LoraAlpha = 2.0 * parse.GetValue(loraRank),
                Loss = CliNames.Parse<LossVariant>(parse.GetValue(loss)!, "--loss"),
                Schedule = CliNames.Parse<SamplingSchedule>(parse.GetValue(schedule)!, "--schedule"),
                Mixing = CliNames.Parse<SamplingMixing>(parse.GetValue(mixing)!, "--mixing"),
                SamplingMin = parse.GetValue(pMin),
                SamplingMax = parse.GetValue(pMax),
                SamplingRampSteps = parse.GetValue(ramp),
                Pooling = CliNames.Parse<PoolingKind>(parse.GetValue(pooling)!, "--pooling"),
                PredictorHead = CliNames.Parse<PredictorHeadKind>(parse.GetValue(head)!, "--predictor-head"),
                TrainOnPrompt = parse.GetValue(trainOnPrompt),
                AdapterReadsPromptState = !parse.GetValue(answerOnlyAdapter),
                EvalEvery = parse.GetValue(evalEvery),
                EarlyStoppingPatience = parse.GetValue(patience),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                MaxPromptTokens = parse.GetValue(maxPrompt),
                Torch = new() { Device = parse.GetValue(device)!, DType = parse.GetValue(dtype)!, Threads = parse.GetValue(threads) },
            };
            string dataDir = parse.GetValue(data)!.FullName, baseDir = parse.GetValue(baseModel)!.FullName, outDir = parse.GetValue(output)!.FullName;
            bool search = parse.GetValue(lr) is null;
            if (search && parse.GetValue(fineTuning) is not null)
                throw new ArgumentException("--fine-tuning without --lr: the search chooses both; pass --lr too to fix them.");
            var messages = parse.GetValue(json) ? null : new SynchronousProgress<string>(m => Console.Error.WriteLine(m));
            if (search)
            {
                var (chosen, trials) = LearningRateSearch.Search(options, dataDir, baseDir, outDir, messages, cancellationToken);
                messages?.Report(string.Create(CultureInfo.InvariantCulture,
                    $"chosen on validation: {CliNames.Kebab(chosen.FineTuning)} fine-tuning at lr {chosen.LearningRate:G3}"));
                options = chosen;
                trialResults = trials;
            }
            TrainResult result;
            if (parse.GetValue(json) || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            {
                // Redirected (a worker's log, CI): plain lines, one per validation and every ~5% of the steps.
                var lines = parse.GetValue(json) ? null : new PlainProgress(Console.Out);
                result = Trainer.Train(options, dataDir, baseDir, outDir, trialResults, lines, cancellationToken);
            }
            else
            {
                result = RunWithProgressBar(options, dataDir, baseDir, outDir, trialResults, cancellationToken);
            }
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(result, CliJson.Options));
            else Console.WriteLine($"test {Describe(result.Test)}; model in {result.ModelDirectory}");
            return Task.FromResult(0);
        });
        return command;
    }

    private static TrainResult RunWithProgressBar(TrainOptions options, string dataDir, string baseDir, string outDir, IReadOnlyList<TrialResult>? trials,
        CancellationToken cancellationToken)
    {
        TrainResult? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"{CliNames.Kebab(options.Method)} training", maxValue: 1);
                var progress = new SynchronousProgress<TrainProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.TotalSteps);
                    task.Value = p.Step;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.LearningRate:E1} p {p.SamplingProbability:F2}{(p.Validation != null ? " val " + Describe(p.Validation) : "")}");
                });
                result = Trainer.Train(options, dataDir, baseDir, outDir, trials, progress, cancellationToken);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    internal static string Describe(Metrics m) => m.Kind == TaskKind.Classification
        ? string.Create(CultureInfo.InvariantCulture, $"accuracy {m.Accuracy:F4} macro-F1 {m.MacroF1:F4} (n={m.Count})")
        : string.Create(CultureInfo.InvariantCulture, $"MSE {m.Mse:F4} MAE {m.Mae:F4} R2 {m.R2:F4} (n={m.Count})");

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private sealed class PlainProgress(TextWriter writer) : IProgress<TrainProgress>
    {
        private int lastPrinted = -1;

        public void Report(TrainProgress p)
        {
            int every = Math.Max(1, p.TotalSteps / 20);
            if (p.Validation == null && p.Step % every != 0 && p.Step != p.TotalSteps) return;
            if (p.Validation == null && p.Step == lastPrinted) return;
            lastPrinted = p.Step;
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.LearningRate:E2} p {p.SamplingProbability:F3} {p.ExamplesPerSecond:F1} ex/s{(p.Validation != null ? " | validation " + Describe(p.Validation) : "")}"));
        }
    }
}
