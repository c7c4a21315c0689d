using System.CommandLine;
using System.Text.Json;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Commands;

/// <summary>`predgen bench checkpoint`: peak memory while loading a (by default synthetic 1 GB fp32) checkpoint.</summary>
public sealed class BenchCheckpointCommand : ICliCommand
{
    public string Parent => "bench";

    public Command Create()
    {
        var defaults = new CheckpointBenchmarkOptions();
        var model = new Option<string?>("--model") { Description = "a model directory to load (config.json + safetensors); default: write a synthetic fp32 Llama checkpoint first" };
        var size = new Option<int>("--size-mb") { Description = "size of the synthetic checkpoint in MiB", DefaultValueFactory = _ => defaults.SizeMegabytes };
        var threads = new Option<int>("--threads") { Description = "intra-op threads (0 = libtorch default, one per core)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("checkpoint",
            "Peak resident memory while loading a checkpoint (ModelDirectory.LoadModel, and SafeTensors reads of every tensor), " +
            "as growth over the resident set before and as a ratio to the tensor bytes in the files.")
        {
            model, size, threads, json,
        };
        command.SetAction(parse =>
        {
            var options = new CheckpointBenchmarkOptions
            {
                ModelDirectory = parse.GetValue(model),
                SizeMegabytes = parse.GetValue(size),
                Threads = parse.GetValue(threads),
            };
            bool asJson = parse.GetValue(json);
            var result = CheckpointBenchmark.Run(options, asJson ? null : Console.Error);
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, CliJson.Options));
                return 0;
            }
            Console.WriteLine($"{result.Config}; {result.Parameters:N0} parameters; {result.FileBytes / 1e6:F0} MB of tensor data");
            Console.WriteLine($"load model    peak +{result.LoadModelPeakGrowthBytes / 1e6,7:F0} MB = {result.LoadModelRatio:F2}x the file data ({result.LoadModelSeconds:F1} s; the model itself is {result.ModelBytes / 1e6:F0} MB)");
            Console.WriteLine($"read tensors  peak +{result.ReadTensorsPeakGrowthBytes / 1e6,7:F0} MB = {result.ReadTensorsRatio:F2}x the file data ({result.ReadTensorsSeconds:F1} s)");
            Console.WriteLine($"load average  {result.LoadAverage}");
            return 0;
        });
        return command;
    }
}
