using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Training.Mine;

namespace PredGen.Cli.Commands;

/// <summary>
/// `predgen mine --input pairs.jsonl`: a MINE estimate of I(Z; Y) from lines {"z": [..], "y": [..]}.
/// `predgen mine --model dir --data file.jsonl`: the same for a fine-tuned model's representations.
/// </summary>
public sealed class MineCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var input = new Option<string?>("--input") { Description = "JSONL file of {\"z\": [floats], \"y\": [floats]} pairs" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var curve = new Option<bool>("--curve") { Description = "include the training curve in the JSON (default: its length only)" };
        var mine = MineCliOptions.Create();
        var command = new Command("mine",
            "Estimate the mutual information I(Z; Y) in nats with MINE (Donsker-Varadhan, NWJ or InfoNCE bound) on held-out samples, with a confidence interval.")
        {
            input, json, curve,
        };
        mine.AddTo(command);
        command.SetAction(parse =>
        {
            var options = mine.Read(parse);
            string? path = parse.GetValue(input);
            if (path is null)
            {
                Console.Error.WriteLine("give --input pairs.jsonl");
                return 2;
            }
            var (z, y) = MinePairs.Read(path);
            var estimate = MineEstimator.Estimate(z, y, options);
            if (!parse.GetValue(curve)) estimate = estimate with { Curve = [] };
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(estimate, CliJson.Options));
            else
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"I(Z;Y) ≈ {estimate.EstimateNats:F4} nats [{estimate.CiLow:F4}, {estimate.CiHigh:F4}] ({estimate.Bound}, n={estimate.N}, held out {estimate.HeldOutSize}, {estimate.Seeds} seeds)"));
            return 0;
        });
        return command;
    }
}
