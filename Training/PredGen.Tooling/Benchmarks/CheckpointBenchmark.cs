using System.Diagnostics;
using System.Globalization;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

using PredGen.Training.Methods;

namespace PredGen.Tooling.Benchmarks;

public sealed record CheckpointBenchmarkOptions
{
    /// <summary>An existing model directory to load; null writes a synthetic fp32 Llama checkpoint of <see cref="SizeMegabytes"/> first.</summary>
    public string? ModelDirectory { get; init; }

    public int SizeMegabytes { get; init; } = 1024;

    public int Threads { get; init; }
}

/// <summary>
/// Peak memory while loading a checkpoint: growth of the process's peak resident set (native and managed) over its
/// resident set just before, for ModelDirectory.LoadModel (the model's own parameters included) and for
/// SafeTensors reads of every tensor into new tensors. Ratios are to the bytes of tensor data in the files.
/// </summary>
public sealed record CheckpointBenchmarkResult(
    string Directory,
    string Config,
    long Parameters,
    long FileBytes,
    long ModelBytes,
    long LoadModelPeakGrowthBytes,
    double LoadModelRatio,
    double LoadModelSeconds,
    long ReadTensorsPeakGrowthBytes,
    double ReadTensorsRatio,
    double ReadTensorsSeconds,
    double WriteSeconds,
    string LoadAverage);

public static class CheckpointBenchmark
{
    public static CheckpointBenchmarkResult Run(CheckpointBenchmarkOptions options, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!ProcessMemory.IsSupported) throw new PlatformNotSupportedException("The checkpoint benchmark reads /proc/self/status and /proc/self/clear_refs (Linux).");
        TorchRuntime.Apply(new TorchOptions { Device = "cpu", Threads = options.Threads });
        string? temporary = null;
        string directory = options.ModelDirectory ?? (temporary = System.IO.Directory.CreateTempSubdirectory("predgen-bench-ckpt-").FullName);
        try
        {
            double writeSeconds = 0;
            if (options.ModelDirectory is null)
            {
                var config = SyntheticConfig(options.SizeMegabytes);
                log?.WriteLine($"writing a synthetic fp32 checkpoint: {Describe(config)}, {config.ParameterCount():N0} parameters");
                var watch = Stopwatch.StartNew();
                using (var model = new LlamaForCausalLM(config))
                    ModelDirectory.Save(model, new ByteTokenizer(), directory, ScalarType.Float32);
                writeSeconds = watch.Elapsed.TotalSeconds;
            }
            var files = System.IO.Directory.GetFiles(directory, "*.safetensors");
            long fileBytes = files.Sum(f => SafeTensors.ReadHeader(f).Entries.Sum(e => e.ByteLength));

            log?.WriteLine($"loading the model from {directory} ({fileBytes / 1e6:F0} MB of tensor data)");
            ProcessMemory.ResetPeak();
            long before = ProcessMemory.ResidentBytes;
            var clock = Stopwatch.StartNew();
            string description;
            long parameters, modelBytes;
            using (var model = ModelDirectory.LoadModel(directory, new TorchOptions { Device = "cpu" }))
            {
                clock.Stop();
                description = Describe(model.Config);
                parameters = model.parameters().Sum(p => p.numel());
                modelBytes = model.parameters().Sum(p => p.numel() * p.element_size());
            }
            long loadGrowth = ProcessMemory.PeakResidentBytes - before;
            double loadSeconds = clock.Elapsed.TotalSeconds;

            log?.WriteLine("reading every tensor into new tensors");
            ProcessMemory.ResetPeak();
            before = ProcessMemory.ResidentBytes;
            clock.Restart();
            var tensors = ModelDirectory.ReadWeights(directory);
            clock.Stop();
            long readGrowth = ProcessMemory.PeakResidentBytes - before;
            foreach (var t in tensors.Values) t.Dispose();

            return new CheckpointBenchmarkResult(directory, description, parameters, fileBytes, modelBytes,
                loadGrowth, Math.Round((double)loadGrowth / fileBytes, 3), Math.Round(loadSeconds, 2),
                readGrowth, Math.Round((double)readGrowth / fileBytes, 3), Math.Round(clock.Elapsed.TotalSeconds, 2),
                Math.Round(writeSeconds, 2), LoadAverage());
        }
        finally
        {
            if (temporary is not null) System.IO.Directory.Delete(temporary, recursive: true);
        }
    }

    /// <summary>A Llama-shaped config (hidden 1024, 16 heads, SwiGLU 2816, vocab 32000) with as many layers as reach the size in fp32.</summary>
    public static LlamaConfig SyntheticConfig(int sizeMegabytes)
    {
        var one = new LlamaConfig
        {
            VocabSize = 32000, HiddenSize = 1024, IntermediateSize = 2816, NumHiddenLayers = 1, NumAttentionHeads = 16,
            NumKeyValueHeadsValue = 16, MaxPositionEmbeddings = 2048,
        };
        long target = (long)sizeMegabytes * 1024 * 1024 / 4;
        long perLayer = (one with { NumHiddenLayers = 2 }).ParameterCount() - one.ParameterCount();
        long rest = one.ParameterCount() - perLayer;
        int layers = (int)Math.Max(1, Math.Round((double)(target - rest) / perLayer));
        return one with { NumHiddenLayers = layers };
    }

    private static string Describe(LlamaConfig c) => string.Create(CultureInfo.InvariantCulture,
        $"hidden {c.HiddenSize}, {c.NumHiddenLayers} layers, {c.NumAttentionHeads}/{c.NumKeyValueHeads} heads, ffn {c.IntermediateSize}, vocab {c.VocabSize}");

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "";
}
