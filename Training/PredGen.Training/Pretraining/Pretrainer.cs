using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using PredGen.Training.Optimization;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Pretraining;

public sealed record PretrainOptions
{
    public required IReadOnlyList<string> CorpusFiles { get; init; }
    /// <summary>"tiny" (tests), "small", "medium" or "large": see <see cref="Pretrainer.ConfigFor"/>.</summary>
    public string Config { get; init; } = "small";
    /// <summary>A directory holding the tokenizer (tokenizer.model, tokenizer.json or byte_tokenizer.json); null: the byte tokenizer.</summary>
    public string? Tokenizer { get; init; }
    public int Steps { get; init; } = 1000;
    public int BatchSize { get; init; } = 16;
    public int SequenceLength { get; init; } = 256;
    public double LearningRate { get; init; } = 2e-3;
    public double MinLearningRateRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 50;
    public double WeightDecay { get; init; } = 0.01;
    public double GradientClip { get; init; } = 1.0;
    public int Seed { get; init; } = 1234;
    public int EvalEvery { get; init; } = 100;
    public int CheckpointEvery { get; init; } = 50;
    public double ValidationFraction { get; init; } = 0.01;
    public int ValidationWindowsPerFile { get; init; } = 16;
    /// <summary>Bytes of each file's held-out part copied into heldout.txt for the fast "better than random" test.</summary>
    public int HeldOutSampleBytesPerFile { get; init; } = 160;
    /// <summary>Stop (with a checkpoint) after this much wall time in this process; the next run resumes. 0 = no limit.</summary>
    public double MaxMinutes { get; init; }
    public TorchOptions Torch { get; init; } = new() { Device = "cpu" };
    public string CommandLine { get; init; } = "";
}

public sealed record PretrainPoint(int Step, long Tokens, double LearningRate, double TrainLoss, double? ValidationLoss, double ElapsedSeconds,
    double? ValidationBitsPerByte = null);

public sealed record PretrainSummary(
    [property: JsonPropertyName("command")] string Command,
    [property: JsonPropertyName("config")] string Config,
    [property: JsonPropertyName("parameters")] long Parameters,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("completed_steps")] int CompletedSteps,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("sequence_length")] int SequenceLength,
    [property: JsonPropertyName("tokens_seen")] long TokensSeen,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds,
    [property: JsonPropertyName("tokens_per_second")] double TokensPerSecond,
    [property: JsonPropertyName("random_init_validation_loss")] double RandomInitValidationLoss,
    [property: JsonPropertyName("validation_loss")] double ValidationLoss,
    [property: JsonPropertyName("random_init_validation_perplexity")] double RandomInitValidationPerplexity,
    [property: JsonPropertyName("validation_perplexity")] double ValidationPerplexity,
    [property: JsonPropertyName("validation_tokens")] long ValidationTokens,
    [property: JsonPropertyName("validation_bytes")] long ValidationBytes,
    [property: JsonPropertyName("random_init_validation_bits_per_byte")] double RandomInitValidationBitsPerByte,
    [property: JsonPropertyName("validation_bits_per_byte")] double ValidationBitsPerByte,
    [property: JsonPropertyName("tokenizer")] string Tokenizer,
    [property: JsonPropertyName("vocab_size")] int VocabSize,
    [property: JsonPropertyName("train_tokens_in_corpus")] long TrainTokensInCorpus,
    [property: JsonPropertyName("corpus")] IReadOnlyList<CorpusEntry> Corpus,
    [property: JsonPropertyName("optimizer")] string Optimizer,
    [property: JsonPropertyName("finished")] bool Finished);

public sealed record CorpusEntry(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("train_bytes")] long TrainBytes,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>
/// Next-byte pretraining of the backbone's LlamaForCausalLM: AdamW (beta2 0.95), linear warm-up then cosine decay,
/// gradient clipping, held-out validation before the first step (the random initialisation's loss) and every
/// <see cref="PretrainOptions.EvalEvery"/> steps. The optimizer, the schedule and the checkpoint are fine-tuning's own
/// (<see cref="AdamW"/>, <see cref="WarmupCosineSchedule"/>, <see cref="TrainingCheckpoint"/> in {out}/checkpoints);
/// the data of step s depends only on (seed, s), so a resumed run continues on the same batches. Writes the model directory ModelDirectory.Load reads, plus
/// loss.csv, pretraining.json and heldout.txt.
/// </summary>
public static class Pretrainer
{
    public const string CheckpointFolder = TrainingCheckpoint.DirectoryName;

    /// <summary>Where pretraining checkpointed before it shared fine-tuning's layout (weights in model.safetensors,
    /// TorchSharp's own AdamW state in optimizer.bin): its weights and step are resumed, its moments start afresh.</summary>
    private const string LegacyCheckpointFolder = "checkpoint";
    public const string LossCurveFile = "loss.csv";
    public const string SummaryFile = "pretraining.json";
    public const string HeldOutFile = "heldout.txt";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private static readonly JsonSerializerOptions StateJson = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static LlamaConfig ConfigFor(string name, int vocabSize) => name switch
    {
        "small" => LlamaConfig.Small(vocabSize),
        "tiny" => LlamaConfig.Tiny(vocabSize),
        // Wider and deeper than small at the same head size, for choosing the size at equal compute.
        "medium" => LlamaConfig.Small(vocabSize) with { HiddenSize = 384, IntermediateSize = 1024, NumHiddenLayers = 6, NumAttentionHeads = 6, NumKeyValueHeadsValue = 3 },
        "large" => LlamaConfig.Small(vocabSize) with { HiddenSize = 512, IntermediateSize = 1376, NumHiddenLayers = 8, NumAttentionHeads = 8, NumKeyValueHeadsValue = 4 },
        _ => throw new ArgumentException($"unknown config '{name}' (tiny, small, medium, large)", nameof(name)),
    };

    /// <summary>The named size with the tokenizer's vocabulary and special ids.</summary>
    public static LlamaConfig ConfigFor(string name, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return ConfigFor(name, tokenizer.VocabSize) with { BosTokenId = tokenizer.BosId, EosTokenId = tokenizer.EosId, PadTokenId = tokenizer.PadId };
    }

    public static PretrainSummary Run(PretrainOptions options, string outDirectory, IProgress<PretrainPoint>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        TorchRuntime.Apply(options.Torch);
        var device = TorchRuntime.ResolveDevice(options.Torch);
        ITextTokenizer tokenizer = options.Tokenizer is null ? new ByteTokenizer() : TokenizerLoader.Load(options.Tokenizer);
        var corpus = PretrainingCorpus.Load(options.CorpusFiles, options.ValidationFraction, tokenizer);
        var config = ConfigFor(options.Config, tokenizer);
        if (options.SequenceLength + 1 > config.MaxPositionEmbeddings) throw new ArgumentException("sequence length exceeds max_position_embeddings");
        Directory.CreateDirectory(outDirectory);
        WriteHeldOutSample(corpus, Path.Combine(outDirectory, HeldOutFile), options.HeldOutSampleBytesPerFile);

        torch.manual_seed(options.Seed);
        using var model = new LlamaForCausalLM(config);
        model.to(device);
        var named = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        var parameters = named.Select(p => p.parameter).ToList();
        using var optimizer = new AdamW(named.Select(p => (p.name, p.parameter, 1.0)), beta1: 0.9, beta2: 0.95, epsilon: 1e-8, options.WeightDecay);

        string checkpointDir = Path.Combine(outDirectory, CheckpointFolder);
        var state = TrainingCheckpoint.Exists(checkpointDir)
            ? TrainingCheckpoint.Restore<TrainingState>(checkpointDir, named, optimizer, StateJson)
            : LoadLegacyCheckpoint(model, Path.Combine(outDirectory, LegacyCheckpointFolder)) ?? new TrainingState(0, 0, 0, null, []);
        var validationWindows = corpus.ValidationWindows(options.ValidationWindowsPerFile, options.SequenceLength, tokenizer);
        var validation = validationWindows.Select(w => w.Ids).ToList();
        long validationTokens = validation.Count * (long)options.SequenceLength;
        long validationBytes = validationWindows.Sum(w => w.Bytes);
        // nats per token -> bits per byte: the same held-out text, whatever the tokenizer.
        double BitsPerByte(double natsPerToken) => natsPerToken * validationTokens / validationBytes / Math.Log(2);
        var curve = new List<PretrainPoint>(state.Curve);
        double randomInitLoss = state.RandomInitValidationLoss ?? Evaluate(model, validation, device);
        if (state.Step == 0 && curve.Count == 0)
        {
            var first = new PretrainPoint(0, 0, 0, double.NaN, randomInitLoss, 0, BitsPerByte(randomInitLoss));
            curve.Add(first);
            progress?.Report(first);
        }

        var clock = Stopwatch.StartNew();
        double elapsedBefore = state.ElapsedSeconds;
        long tokens = state.Tokens;
        int step = state.Step;
        double lossSum = 0; int lossCount = 0;
        int tokensPerStep = options.BatchSize * options.SequenceLength;
        while (step < options.Steps)
        {
            double lr = WarmupCosineSchedule.LearningRate(step, options.Steps, options.WarmupSteps, options.LearningRate, options.MinLearningRateRatio);
            var random = new Random(HashCode.Combine(options.Seed, step));
            long[] batch = corpus.SampleBatch(random, options.BatchSize, options.SequenceLength, tokenizer.BosId);
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(batch, [options.BatchSize, options.SequenceLength + 1], ScalarType.Int64).to(device);
                var loss = LanguageModelLoss(model, ids);
                optimizer.ZeroGrad();
                loss.backward();
                nn.utils.clip_grad_norm_(parameters, options.GradientClip);
                optimizer.Step(lr);
                lossSum += loss.item<float>();
                lossCount++;
            }
            step++;
            tokens += tokensPerStep;
            double elapsed = elapsedBefore + clock.Elapsed.TotalSeconds;
            bool last = step == options.Steps;
            bool outOfTime = options.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= options.MaxMinutes;
            if (step % options.EvalEvery == 0 || last || outOfTime)
            {
                double? valLoss = step % options.EvalEvery == 0 || last || outOfTime ? Evaluate(model, validation, device) : null;
                var point = new PretrainPoint(step, tokens, lr, lossSum / Math.Max(1, lossCount), valLoss, elapsed,
                    valLoss is double v ? BitsPerByte(v) : null);
                curve.Add(point);
                progress?.Report(point);
                lossSum = 0; lossCount = 0;
            }
            if (step % options.CheckpointEvery == 0 || last || outOfTime)
                TrainingCheckpoint.Save(checkpointDir, step, new TrainingState(step, tokens, elapsed, randomInitLoss, curve), named, optimizer, StateJson);
            if (outOfTime && !last) break;
        }

        double wall = elapsedBefore + clock.Elapsed.TotalSeconds;
        bool finished = step >= options.Steps;
        double finalLoss = curve.LastOrDefault(p => p.ValidationLoss.HasValue)?.ValidationLoss ?? randomInitLoss;
        WriteLossCurve(Path.Combine(outDirectory, LossCurveFile), curve);
        if (finished) ModelDirectory.Save(model, tokenizer, outDirectory);
        var summary = new PretrainSummary(options.CommandLine, options.Config, parameters.Sum(p => p.numel()), options.Steps, step,
            options.BatchSize, options.SequenceLength, tokens, Math.Round(wall, 1), Math.Round(tokens / Math.Max(1e-9, wall), 1),
            Math.Round(randomInitLoss, 4), Math.Round(finalLoss, 4), Math.Round(Math.Exp(randomInitLoss), 2), Math.Round(Math.Exp(finalLoss), 3),
            validationTokens, validationBytes, Math.Round(BitsPerByte(randomInitLoss), 4), Math.Round(BitsPerByte(finalLoss), 4),
            tokenizer is ByteTokenizer ? "byte" : Path.GetFileName(Path.GetFullPath(options.Tokenizer!).TrimEnd(Path.DirectorySeparatorChar)),
            tokenizer.VocabSize, corpus.TrainTokens, corpus.Files.Select(f => new CorpusEntry(f.Name, f.Bytes.Length, f.TrainLength, f.Sha256)).ToList(),
            $"AdamW(beta1 0.9, beta2 0.95, weight decay {options.WeightDecay.ToString(CultureInfo.InvariantCulture)} on matrices), peak lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)}, " +
            $"{options.WarmupSteps} warm-up steps, cosine to {options.MinLearningRateRatio.ToString(CultureInfo.InvariantCulture)} x peak, clip {options.GradientClip.ToString(CultureInfo.InvariantCulture)}",
            finished);
        File.WriteAllText(Path.Combine(outDirectory, SummaryFile), JsonSerializer.Serialize(summary, Indented) + "\n");
        return summary;
    }

    /// <summary>Mean next-token cross-entropy (nats) of ids [B, T+1]: predict ids[:, 1:] from ids[:, :-1].</summary>
    public static Tensor LanguageModelLoss(LlamaForCausalLM model, Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(ids);
        long t = ids.shape[1] - 1;
        var input = ids.narrow(1, 0, t);
        var target = ids.narrow(1, 1, t);
        var logits = model.forward(new CausalLMInput(input)).Logits!;
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), target.reshape(-1));
    }

    /// <summary>Mean loss over windows (each BOS + bytes), in batches of 16, without gradients.</summary>
    public static double Evaluate(LlamaForCausalLM model, IReadOnlyList<long[]> windows, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(windows);
        if (windows.Count == 0) return double.NaN;
        bool wasTraining = model.training;
        model.eval();
        using var _ = no_grad();
        double sum = 0; long count = 0;
        for (int i = 0; i < windows.Count; i += 16)
        {
            using var scope = NewDisposeScope();
            var chunk = windows.Skip(i).Take(16).ToList();
            int length = chunk.Min(w => w.Length);
            var flat = chunk.SelectMany(w => w.Take(length)).ToArray();
            var ids = tensor(flat, [chunk.Count, length], ScalarType.Int64).to(device);
            sum += LanguageModelLoss(model, ids).item<float>() * chunk.Count * (length - 1);
            count += chunk.Count * (long)(length - 1);
        }
        if (wasTraining) model.train();
        return sum / count;
    }

    /// <summary>Validation loss (nats per token) of the text in a held-out file, read as one BOS-prefixed window per line.</summary>
    public static double HeldOutLoss(LlamaForCausalLM model, string heldOutPath, ITextTokenizer tokenizer) =>
        HeldOut(model, heldOutPath, tokenizer).NatsPerToken;

    /// <summary>Held-out loss per token and in bits per byte (which compares tokenizers) of a held-out file.</summary>
    public static (double NatsPerToken, double BitsPerByte) HeldOut(LlamaForCausalLM model, string heldOutPath, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var lines = File.ReadAllLines(heldOutPath, Encoding.UTF8).Where(l => l.Length > 0).ToList();
        double sum = 0; long count = 0, bytes = 0;
        foreach (var line in lines)
        {
            var w = tokenizer.Encode(line, addBos: true).Select(id => (long)id).ToArray();
            double loss = Evaluate(model, [w], model.Device);
            sum += loss * (w.Length - 1);
            count += w.Length - 1;
            bytes += Encoding.UTF8.GetByteCount(line);
        }
        return (sum / count, sum / bytes / Math.Log(2));
    }

    private static void WriteHeldOutSample(PretrainingCorpus corpus, string path, int bytesPerFile)
    {
        var lines = new List<string>();
        foreach (var f in corpus.Files)
        {
            int start = f.TrainLength;
            int end = Math.Min(f.Bytes.Length, start + bytesPerFile * 2);
            string text = Encoding.UTF8.GetString(f.Bytes, start, end - start).Replace("\n", " ", StringComparison.Ordinal);
            int cut = text.LastIndexOf(' ', Math.Min(text.Length - 1, bytesPerFile));
            lines.Add(text[..(cut > 0 ? cut : Math.Min(text.Length, bytesPerFile))].Trim());
        }
        File.WriteAllLines(path, lines, new UTF8Encoding(false));
    }

    private static void WriteLossCurve(string path, IReadOnlyList<PretrainPoint> curve)
    {
        var ci = CultureInfo.InvariantCulture;
        var lines = new List<string> { "step,tokens,learning_rate,train_loss,validation_loss,elapsed_seconds,validation_bits_per_byte" };
        lines.AddRange(curve.Select(p => string.Join(',', p.Step.ToString(ci), p.Tokens.ToString(ci), p.LearningRate.ToString("G6", ci),
            double.IsNaN(p.TrainLoss) ? "" : p.TrainLoss.ToString("F4", ci), p.ValidationLoss?.ToString("F4", ci) ?? "", p.ElapsedSeconds.ToString("F1", ci),
            p.ValidationBitsPerByte?.ToString("F4", ci) ?? "")));
        File.WriteAllLines(path, lines);
    }

    private sealed record TrainingState(int Step, long Tokens, double ElapsedSeconds, double? RandomInitValidationLoss, IReadOnlyList<PretrainPoint> Curve);

    /// <summary>The step, curve and weights of a checkpoint in the layout before <see cref="TrainingCheckpoint"/>; null
    /// when there is none.</summary>
    private static TrainingState? LoadLegacyCheckpoint(LlamaForCausalLM model, string directory)
    {
        string statePath = Path.Combine(directory, TrainingCheckpoint.StateFile);
        if (!File.Exists(statePath)) return null;
        ModelDirectory.LoadWeights(model, directory);
        return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(statePath), StateJson);
    }
}
