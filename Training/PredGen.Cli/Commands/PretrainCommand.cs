using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Training.Pretraining;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Commands;

/// <summary>`predgen pretrain`: next-byte pretraining of the default base model (issue 9), resumable.</summary>
public sealed class PretrainCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var corpus = new Option<string[]>("--corpus") { Description = "plain-text corpus files (scripts/build-pretraining-corpus.sh writes data/corpus/*.txt)", Required = true, AllowMultipleArgumentsPerToken = true };
        var config = new Option<string>("--config") { Description = "model size: tiny, small, medium or large", DefaultValueFactory = _ => "small" };
        var tokenizerDir = new Option<string?>("--tokenizer") { Description = "directory with the tokenizer to pretrain with (tokenizer.model, tokenizer.json or byte_tokenizer.json); default: bytes" };
        var output = new Option<string>("--out") { Description = "model directory to write (resumes from {out}/checkpoint when present)", Required = true };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 16 };
        var seq = new Option<int>("--seq-len") { DefaultValueFactory = _ => 256 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-3 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1234 };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 100 };
        var valWindows = new Option<int>("--val-windows") { Description = "held-out windows per corpus file for the validation loss", DefaultValueFactory = _ => 16 };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "stop with a checkpoint after this much wall time; rerun to resume (0 = no limit)" };
        var threads = new Option<int>("--threads") { Description = "torch threads (0 = libtorch default)" };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "print the summary as one JSON object" };
        var command = new Command("pretrain", "Pretrain the Llama base on plain text (AdamW, warm-up + cosine, held-out validation, resumable checkpoints).")
        {
            corpus, config, tokenizerDir, output, steps, batch, seq, lr, warmup, seed, evalEvery, valWindows, maxMinutes, threads, device, json,
        };
        command.SetAction(parse =>
        {
            var ci = CultureInfo.InvariantCulture;
            var options = new PretrainOptions
            {
                CorpusFiles = parse.GetValue(corpus)!,
                Config = parse.GetValue(config)!,
                Tokenizer = parse.GetValue(tokenizerDir),
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                SequenceLength = parse.GetValue(seq),
                LearningRate = parse.GetValue(lr),
                WarmupSteps = parse.GetValue(warmup),
                Seed = parse.GetValue(seed),
                EvalEvery = parse.GetValue(evalEvery),
                ValidationWindowsPerFile = parse.GetValue(valWindows),
                MaxMinutes = parse.GetValue(maxMinutes),
                Torch = new TorchOptions { Device = parse.GetValue(device)!, Threads = parse.GetValue(threads) },
                CommandLine = "predgen " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            };
            bool quiet = parse.GetValue(json);
            var progress = new SynchronousProgress<PretrainPoint>(p =>
            {
                if (quiet) return;
                Console.Error.WriteLine(string.Create(ci, $"step {p.Step,5}  tokens {p.Tokens,9}  lr {p.LearningRate:G3}  train {p.TrainLoss:F3}  val {(p.ValidationLoss.HasValue ? p.ValidationLoss.Value.ToString("F3", ci) : "-")}  bpb {(p.ValidationBitsPerByte.HasValue ? p.ValidationBitsPerByte.Value.ToString("F3", ci) : "-")}  {p.ElapsedSeconds:F0}s  {p.Tokens / Math.Max(1e-9, p.ElapsedSeconds):F0} tok/s"));
            });
            var summary = Pretrainer.Run(options, parse.GetValue(output)!, progress);
            LossCurvePlot.TryWrite(parse.GetValue(output)!);
            Console.WriteLine(quiet ? JsonSerializer.Serialize(summary, CliJson.Options)
                : string.Create(ci, $"{summary.CompletedSteps}/{summary.Steps} steps, {summary.TokensSeen} tokens, {summary.WallSeconds:F0} s; validation loss {summary.RandomInitValidationLoss:F3} (random init) -> {summary.ValidationLoss:F3} (ppl {summary.RandomInitValidationPerplexity:F1} -> {summary.ValidationPerplexity:F2}); {summary.RandomInitValidationBitsPerByte:F3} -> {summary.ValidationBitsPerByte:F3} bits/byte"));
            return summary.Finished ? 0 : 3;
        });
        return command;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
