using System.Diagnostics;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Runtime;

/// <summary>Where tensors live and in which precision; bound from configuration ("Torch:Device", "Torch:DType").</summary>
public sealed record TorchOptions
{
    /// <summary>"cpu", "cuda", "cuda:1" or "auto" (CUDA when the CUDA build runs on a GPU machine, else CPU).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>"float32", "float16" or "bfloat16".</summary>
    public string DType { get; init; } = "float32";

    /// <summary>Intra-op threads; 0 keeps libtorch's default (one per core).</summary>
    public int Threads { get; init; }
}

/// <summary>Facts about the loaded libtorch and the device it runs on.</summary>
public sealed record TorchInfo(
    string TorchSharpVersion,
    string LibTorchVersion,
    string Backend,
    string Device,
    bool CudaAvailable,
    int CudaDevices,
    int Threads,
    int MatmulSize,
    double MatmulGflops);

public static class TorchRuntime
{
    public static Device ResolveDevice(TorchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string name = options.Device.Trim().ToLowerInvariant();
        if (name == "auto") return cuda.is_available() ? CUDA : CPU;
        if (name.StartsWith("cuda", StringComparison.Ordinal) && !cuda.is_available())
            throw new InvalidOperationException(
                $"Torch:Device is '{options.Device}' but CUDA is not available: this build uses the CPU libtorch or the machine has no GPU. " +
                "Build with -p:TorchBackend=cuda on a GPU machine, or set Torch:Device=cpu.");
        return new Device(name);
    }

    public static ScalarType ResolveDType(TorchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.DType.Trim().ToLowerInvariant() switch
        {
            "float32" or "fp32" or "float" => ScalarType.Float32,
            "float16" or "fp16" or "half" => ScalarType.Float16,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            _ => throw new ArgumentException($"Torch:DType '{options.DType}' is not one of float32, float16, bfloat16.", nameof(options)),
        };
    }

    public static void Apply(TorchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads > 0) set_num_threads(options.Threads);
    }

    /// <summary>Measures dense fp32 matmul throughput: the roofline that training efficiency is reported against.</summary>
    public static double MeasureMatmulGflops(Device device, int size = 1024, double seconds = 1.0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(size, size, device: device);
        var b = randn(size, size, device: device);
        for (int i = 0; i < 2; i++) matmul(a, b).Dispose();
        if (device.type == DeviceType.CUDA) cuda.synchronize();
        var sw = Stopwatch.StartNew();
        int iterations = 0;
        while (sw.Elapsed.TotalSeconds < seconds || iterations < 3)
        {
            matmul(a, b).Dispose();
            iterations++;
        }
        if (device.type == DeviceType.CUDA) cuda.synchronize();
        double flops = 2.0 * size * size * size * iterations;
        return flops / sw.Elapsed.TotalSeconds / 1e9;
    }

    public static TorchInfo Describe(TorchOptions options, bool measure = true)
    {
        var device = ResolveDevice(options);
        Apply(options);
        string torchSharp = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";
        int plus = torchSharp.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0) torchSharp = torchSharp[..plus];
        return new TorchInfo(
            TorchSharpVersion: torchSharp,
            LibTorchVersion: LibTorchVersion(),
            Backend: BuildInfo.TorchBackend,
            Device: device.ToString(),
            CudaAvailable: cuda.is_available(),
            CudaDevices: cuda.is_available() ? cuda.device_count() : 0,
            Threads: get_num_threads(),
            MatmulSize: 1024,
            MatmulGflops: measure ? Math.Round(MeasureMatmulGflops(device), 1) : 0);
    }

    /// <summary>The libtorch release this build ships, stamped in at build time from the package version.</summary>
    private static string LibTorchVersion() => BuildInfo.LibTorchVersion;
}
