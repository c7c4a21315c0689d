using System.CommandLine;
using System.Text.Json;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Commands;

/// <summary>`predgen bench methods`: PredGen's step cost at p = 1 vs p = 0, label-scoring latency vs the Predictor, and
/// the loss variants on the demo data (issue 4's targets).</summary>
public sealed class BenchMethodsCommand : ICliCommand
{
    private static readonly JsonSerializerOptions Indented = new(CliJson.Options) { WriteIndented = true };

    public string Parent => "bench";

    public Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var dataRoot = new Option<string>("--data-root") { Description = "folder with syllables/ and spam/ prepared splits", DefaultValueFactory = _ => "data/demo" };
        var skipVariants = new Option<bool>("--skip-variants") { Description = "timings only (no loss-variant training runs)" };
        var variantSteps = new Option<int>("--variant-steps") { DefaultValueFactory = _ => 300 };
        var seeds = new Option<int>("--seeds") { Description = "seeds per loss variant", DefaultValueFactory = _ => 1 };
        var timedSteps = new Option<int>("--timed-steps") { DefaultValueFactory = _ => 8 };
        var promptTokens = new Option<int>("--prompt-tokens") { DefaultValueFactory = _ => 128 };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = "torch intra-op threads (0: libtorch default); 1 by default so CPU-time figures are not inflated by spinning worker threads", DefaultValueFactory = _ => 1 };
        var command = new Command("methods", "PredGen step cost at p=1 vs p=0 (target <= 1.5x), label-scoring latency vs Predictor (target <= 1.2x), WDAL variants on demo data.")
        {
            json, dataRoot, skipVariants, variantSteps, seeds, timedSteps, promptTokens, device, threads,
        };
        command.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            var options = new MethodsBenchmarkOptions
            {
                DataRoot = parse.GetValue(skipVariants) ? null : parse.GetValue(dataRoot),
                VariantSteps = parse.GetValue(variantSteps),
                VariantSeeds = [.. Enumerable.Range(1, Math.Max(1, parse.GetValue(seeds)))],
                TimedSteps = parse.GetValue(timedSteps),
                PromptTokens = parse.GetValue(promptTokens),
                Torch = new TorchOptions { Device = parse.GetValue(device)!, Threads = parse.GetValue(threads) },
            };
            var result = MethodsBenchmark.Run(options, asJson ? message => Console.Error.WriteLine(message) : Console.WriteLine);
            Console.WriteLine(JsonSerializer.Serialize(result, asJson ? CliJson.Options : Indented));
            return 0;
        });
        return command;
    }
}
