using System.CommandLine;
using System.Text.Json;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Commands;

/// <summary>`predgen bench backbone`: forward / training / decoding throughput of the default Small model vs the matmul roofline.</summary>
public sealed class BenchBackboneCommand : ICliCommand
{
    public string Parent => "bench";

    public Command Create()
    {
        var defaults = new BackboneBenchmarkOptions();
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => defaults.Device };
        var threads = new Option<int>("--threads") { Description = "intra-op threads (0 = libtorch default, one per core)" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => defaults.Batch };
        var sequence = new Option<int>("--seq") { Description = "tokens per row", DefaultValueFactory = _ => defaults.SequenceLength };
        var steps = new Option<int>("--steps") { Description = "timed steps (median reported) after 2 warm-up steps", DefaultValueFactory = _ => defaults.Steps };
        var prompt = new Option<int>("--prompt") { Description = "decoding prompt length", DefaultValueFactory = _ => defaults.PromptLength };
        var decode = new Option<int>("--decode-tokens") { Description = "tokens generated per decoding measurement", DefaultValueFactory = _ => defaults.DecodeTokens };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("backbone",
            "Forward and forward+backward+AdamW tokens/s and GFLOP/s of the default Small config (6N + 12LTd FLOPs/token) as a fraction " +
            "of the fp32 matmul GFLOP/s measured in the same run; greedy decoding tokens/s with and without the KV cache.")
        {
            device, threads, batch, sequence, steps, prompt, decode, json,
        };
        command.SetAction(parse =>
        {
            var options = new BackboneBenchmarkOptions
            {
                Device = parse.GetValue(device)!,
                Threads = parse.GetValue(threads),
                Batch = parse.GetValue(batch),
                SequenceLength = parse.GetValue(sequence),
                Steps = parse.GetValue(steps),
                PromptLength = parse.GetValue(prompt),
                DecodeTokens = parse.GetValue(decode),
            };
            bool asJson = parse.GetValue(json);
            var result = BackboneBenchmark.Run(options, asJson ? null : Console.Error);
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, CliJson.Options));
            }
            else
            {
                Console.WriteLine($"{result.Config}; {result.Parameters:N0} parameters; {result.Device}, {result.Threads} threads");
                Console.WriteLine($"matmul fp32          {result.MatmulGflops,8:F1} GFLOP/s");
                Console.WriteLine($"forward              {result.ForwardTokensPerS,8:F0} tokens/s {result.ForwardGflops,7:F1} GFLOP/s ({result.ForwardFractionOfMatmul:P0} of matmul)");
                Console.WriteLine($"train step           {result.TrainTokensPerS,8:F0} tokens/s {result.TrainGflops,7:F1} GFLOP/s ({result.TrainFractionOfMatmul:P0} of matmul); " +
                    $"{result.TrainStepMs:F0} ms = fwd {result.TrainForwardMs:F0} + bwd {result.TrainBackwardMs:F0} + AdamW {result.TrainOptimizerMs:F0}");
                Console.WriteLine($"GEMMs alone          {result.GemmOnlyStepMs,8:F0} ms/step {result.GemmOnlyGflops,7:F1} GFLOP/s ({result.GemmShareOfTrainStep:P0} of the train step)");
                Console.WriteLine($"decode (prompt {result.DecodePromptTokens}) cached {result.DecodeCachedTokensPerS:F1} tokens/s, uncached {result.DecodeUncachedTokensPerS:F1} tokens/s: {result.KvCacheSpeedup:F1}x");
            }
            return 0;
        });
        return command;
    }
}
