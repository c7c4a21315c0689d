using System.Diagnostics;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

using PredGen.Training.Methods;

namespace PredGen.Tooling.Benchmarks;

public sealed record BackboneBenchmarkOptions
{
    public string Device { get; init; } = "cpu";
    public int Threads { get; init; }
    public int Batch { get; init; } = 16;
    public int SequenceLength { get; init; } = 128;
    public int Steps { get; init; } = 6;
    public int WarmupSteps { get; init; } = 2;
    public int PromptLength { get; init; } = 256;
    public int DecodeTokens { get; init; } = 32;
    public double MatmulSeconds { get; init; } = 2.0;
}

/// <summary>Throughput of the default Small config; FLOPs counted as in PaLM (appendix B): 6N + 12 L T d per trained token.</summary>
public sealed record BackboneBenchmarkResult(
    string Device,
    int Threads,
    string Config,
    long Parameters,
    long MatmulParameters,
    int Batch,
    int SequenceLength,
    double MatmulGflops,
    double ForwardTokensPerS,
    double ForwardGflops,
    double ForwardFractionOfMatmul,
    double TrainTokensPerS,
    double TrainGflops,
    double TrainFractionOfMatmul,
    double TrainStepMs,
    double TrainForwardMs,
    double TrainBackwardMs,
    double TrainOptimizerMs,
    double GemmOnlyStepMs,
    double GemmOnlyGflops,
    double GemmShareOfTrainStep,
    int DecodePromptTokens,
    int DecodeNewTokens,
    double DecodeCachedTokensPerS,
    double DecodeUncachedTokensPerS,
    double KvCacheSpeedup,
    double PrefillMs);

public static class BackboneBenchmark
{
    public static BackboneBenchmarkResult Run(BackboneBenchmarkOptions options, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var torchOptions = new TorchOptions { Device = options.Device, Threads = options.Threads };
        TorchRuntime.Apply(torchOptions);
        var device = TorchRuntime.ResolveDevice(torchOptions);
        var config = LlamaConfig.Small(ByteTokenizer.Size);
        manual_seed(0);
        using var model = new LlamaForCausalLM(config);
        model.to(device);

        long parameters = model.parameters().Sum(p => p.numel());
        // Matmul parameters: every projection and the head; the embedding lookup does no multiply-adds.
        long matmulParameters = parameters - (long)config.VocabSize * config.HiddenSize * (config.TieWordEmbeddings ? 0 : 1);
        long attentionPerToken = 2L * config.NumHiddenLayers * options.SequenceLength * config.NumAttentionHeads * config.HeadDim;
        double forwardFlopsPerToken = 2.0 * matmulParameters + 2.0 * attentionPerToken;   // 2N + 4 L T d
        double trainFlopsPerToken = 3 * forwardFlopsPerToken;                               // 6N + 12 L T d
        long tokens = (long)options.Batch * options.SequenceLength;

        log?.WriteLine($"matmul roofline ({options.MatmulSeconds:F0} s)...");
        double matmul = TorchRuntime.MeasureMatmulGflops(device, 1024, options.MatmulSeconds);

        log?.WriteLine("forward...");
        model.eval();
        double forwardSeconds = Median(options.WarmupSteps, options.Steps, () =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var ids = randint(0, 256, [options.Batch, options.SequenceLength], device: device);
            var sw = Stopwatch.StartNew();
            var output = model.forward(new CausalLMInput(ids));
            output.Logits!.sum().item<float>();
            return sw.Elapsed.TotalSeconds;
        });

        log?.WriteLine("train steps...");
        model.train();
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-4);
        var phases = new List<(double Forward, double Backward, double Step)>();
        double trainSeconds = Median(options.WarmupSteps, options.Steps, () =>
        {
            using var scope = NewDisposeScope();
            var ids = randint(0, 256, [options.Batch, options.SequenceLength + 1], device: device);
            var sw = Stopwatch.StartNew();
            optimizer.zero_grad();
            var logits = model.forward(new CausalLMInput(ids.narrow(1, 0, options.SequenceLength))).Logits!;
            var loss = nn.functional.cross_entropy(logits.view(-1, config.VocabSize), ids.narrow(1, 1, options.SequenceLength).reshape(-1));
            loss.item<float>();
            double f = sw.Elapsed.TotalSeconds;
            loss.backward();
            double b = sw.Elapsed.TotalSeconds;
            optimizer.step();
            double total = sw.Elapsed.TotalSeconds;
            phases.Add((f, b - f, total - b));
            return total;
        });
        var measured = phases.Skip(options.WarmupSteps).ToList();

        log?.WriteLine("GEMMs alone...");
        var (gemmSeconds, gemmFlops) = MeasureGemmCeiling(config, tokens, device, Math.Max(3, options.Steps));

        log?.WriteLine("decoding...");
        model.eval();
        var (cached, uncached, prefill) = MeasureDecoding(model, device, options.PromptLength, options.DecodeTokens);

        double forwardGflops = forwardFlopsPerToken * tokens / forwardSeconds / 1e9;
        double trainGflops = trainFlopsPerToken * tokens / trainSeconds / 1e9;
        return new BackboneBenchmarkResult(
            Device: device.ToString(),
            Threads: get_num_threads(),
            Config: $"Small: hidden {config.HiddenSize}, layers {config.NumHiddenLayers}, heads {config.NumAttentionHeads}/{config.NumKeyValueHeads}, ffn {config.IntermediateSize}, vocab {config.VocabSize}",
            Parameters: parameters,
            MatmulParameters: matmulParameters,
            Batch: options.Batch,
            SequenceLength: options.SequenceLength,
            MatmulGflops: Math.Round(matmul, 1),
            ForwardTokensPerS: Math.Round(tokens / forwardSeconds),
            ForwardGflops: Math.Round(forwardGflops, 1),
            ForwardFractionOfMatmul: Math.Round(forwardGflops / matmul, 3),
            TrainTokensPerS: Math.Round(tokens / trainSeconds),
            TrainGflops: Math.Round(trainGflops, 1),
            TrainFractionOfMatmul: Math.Round(trainGflops / matmul, 3),
            TrainStepMs: Math.Round(trainSeconds * 1000, 1),
            TrainForwardMs: Math.Round(Median(measured.Select(p => p.Forward)) * 1000, 1),
            TrainBackwardMs: Math.Round(Median(measured.Select(p => p.Backward)) * 1000, 1),
            TrainOptimizerMs: Math.Round(Median(measured.Select(p => p.Step)) * 1000, 1),
            GemmOnlyStepMs: Math.Round(gemmSeconds * 1000, 1),
            GemmOnlyGflops: Math.Round(gemmFlops / gemmSeconds / 1e9, 1),
            GemmShareOfTrainStep: Math.Round(gemmSeconds / trainSeconds, 3),
            DecodePromptTokens: options.PromptLength,
            DecodeNewTokens: options.DecodeTokens,
            DecodeCachedTokensPerS: Math.Round(cached, 1),
            DecodeUncachedTokensPerS: Math.Round(uncached, 1),
            KvCacheSpeedup: Math.Round(cached / uncached, 1),
            PrefillMs: Math.Round(prefill * 1000, 1));
    }

    /// <summary>Greedy decoding of one sequence: per generated token with the cache vs recomputing the whole sequence each time.</summary>
    private static (double Cached, double Uncached, double Prefill) MeasureDecoding(LlamaForCausalLM model, Device device, int promptLength, int newTokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var prompt = randint(0, 256, [1, promptLength], device: device);

        using var cache = model.NewCache();
        var sw = Stopwatch.StartNew();
        var hidden = model.forward(new CausalLMInput(prompt, null, cache, ComputeLogits: false)).HiddenStates;
        var next = model.Logits(hidden.select(1, -1)).argmax(-1, keepdim: true);
        next.item<long>();
        double prefill = sw.Elapsed.TotalSeconds;
        sw.Restart();
        for (int i = 0; i < newTokens; i++)
        {
            using var step = NewDisposeScope();
            var h = model.forward(new CausalLMInput(next, null, cache, ComputeLogits: false)).HiddenStates;
            next = model.Logits(h.select(1, -1)).argmax(-1, keepdim: true).MoveToOuterDisposeScope();
            next.item<long>();
        }
        double cachedSeconds = sw.Elapsed.TotalSeconds;

        var sequence = prompt;
        sw.Restart();
        for (int i = 0; i < newTokens; i++)
        {
            using var step = NewDisposeScope();
            var h = model.forward(new CausalLMInput(sequence, ComputeLogits: false)).HiddenStates;
            var token = model.Logits(h.select(1, -1)).argmax(-1, keepdim: true);
            token.item<long>();
            sequence = cat([sequence, token], 1).MoveToOuterDisposeScope();
        }
        double uncachedSeconds = sw.Elapsed.TotalSeconds;
        return (newTokens / cachedSeconds, newTokens / uncachedSeconds, prefill);
    }

    /// <summary>
    /// The step's matrix multiplies alone (per projection and the head: forward x W^T, backward dY W and dY^T x) at the
    /// benchmark's token count: what a training step would take if everything but the GEMMs were free. Comparing it with
    /// the step time says whether the step is bound by GEMM efficiency at these (small, K = 256) shapes or by the rest.
    /// </summary>
    private static (double Seconds, double Flops) MeasureGemmCeiling(LlamaConfig config, long tokens, Device device, int repeats)
    {
        long h = config.HiddenSize, q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim;
        long f = config.IntermediateSize;
        var shapes = new List<(long In, long Out)>();
        for (int i = 0; i < config.NumHiddenLayers; i++) shapes.AddRange([(h, q), (h, kv), (h, kv), (q, h), (h, f), (h, f), (f, h)]);
        shapes.Add((h, config.VocabSize));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var operands = shapes.Distinct().ToDictionary(s => s, s => (X: randn(tokens, s.In, device: device), W: randn(s.Out, s.In, device: device), DY: randn(tokens, s.Out, device: device)));
        void Step()
        {
            using var stepScope = NewDisposeScope();
            foreach (var s in shapes)
            {
                var (x, w, dy) = operands[s];
                matmul(x, w.t());
                matmul(dy, w);
                matmul(dy.t(), x);
            }
        }
        Step();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) Step();
        double flops = shapes.Sum(s => 3 * 2.0 * tokens * s.In * s.Out);
        return (sw.Elapsed.TotalSeconds / repeats, flops);
    }

    private static double Median(int warmup, int steps, Func<double> run)
    {
        var times = new List<double>();
        for (int i = 0; i < warmup + steps; i++)
        {
            double t = run();
            if (i >= warmup) times.Add(t);
        }
        return Median(times);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0) return double.NaN;
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
