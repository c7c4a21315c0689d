using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Cli.Worker;
using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Training.Mine;
using PredGen.Training.Runtime;
using TorchSharp;

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
        var modelDir = new Option<string?>("--model") { Description = "a fine-tuned model directory (TrainedModel): estimate I(Y; Z) of its representations" };
        var data = new Option<string?>("--data") { Description = "with --model: prepared JSONL rows {\"text\", \"label\"} (Y = one-hot label or value) the model did not train on; MINE holds them out first" };
        var trainData = new Option<string?>("--train-data") { Description = "with --model: the model's training rows, added so the critic has enough pairs (the pipeline passes train.jsonl)" };
        var maxRows = new Option<int>("--max-rows") { Description = "with --model: use at most this many rows (0: all)", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "with --model: cpu, cuda or auto", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var curve = new Option<bool>("--curve") { Description = "include the training curve in the JSON (default: its length only)" };
        var mine = MineCliOptions.Create();
        var command = new Command("mine",
            "Estimate the mutual information I(Z; Y) in nats with MINE (Donsker-Varadhan, NWJ or InfoNCE bound) on held-out samples, with a confidence interval.")
        {
            input, modelDir, data, trainData, maxRows, device, json, curve,
        };
        mine.AddTo(command);
        command.SetAction(parse =>
        {
            var options = mine.Read(parse);
            string? path = parse.GetValue(input);
            if (parse.GetValue(modelDir) is string model)
            {
                string? dataPath = parse.GetValue(data);
                if (dataPath is null)
                {
                    Console.Error.WriteLine("--model needs --data rows.jsonl");
                    return 2;
                }
                return AnalyseModel(model, dataPath, parse.GetValue(trainData), parse.GetValue(maxRows), parse.GetValue(device)!, options, parse.GetValue(json), parse.GetValue(curve));
            }
            if (path is null)
            {
                Console.Error.WriteLine("give --input pairs.jsonl, or --model dir --data rows.jsonl");
                return 2;
            }
            var (z, y) = MinePairs.Read(path);
            var estimate = MineEstimator.Estimate(z, y, options);
            if (!parse.GetValue(curve)) estimate = estimate with { Curve = [] };
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(estimate, CliJson.Options));
            else
                Console.WriteLine(estimate.Estimable
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"I(Z;Y) ≈ {estimate.EstimateNats:F4} nats [{estimate.CiLow:F4}, {estimate.CiHigh:F4}] ({estimate.Bound}, {estimate.Transform}, n={estimate.N}, held out {estimate.HeldOutSize}, {estimate.Seeds} seeds)")
                    : "I(Z;Y): " + estimate.Note);
            return 0;
        });
        return command;
    }

    private static int AnalyseModel(string modelDir, string dataPath, string? trainDataPath, int maxRows, string device, MineOptions options, bool json, bool curve)
    {
        var rows = PreparedRow.ReadJsonl(dataPath);
        if (maxRows > 0) rows = [.. rows.Take(maxRows)];
        var trainingRows = trainDataPath == null ? null : PreparedRow.ReadJsonl(trainDataPath);
        using var model = TrainedModel.Load(modelDir, new TorchOptions { Device = device, Threads = torch.get_num_threads() });
        var report = TorchMineAnalysis.WithoutCurves(ModelMutualInformation.Analyse(model, rows, options, trainingRows: trainingRows), keepCurves: curve);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(report, CliJson.Options));
            return 0;
        }
        Console.WriteLine($"{report.Method} ({report.TaskKind}), {report.Examples} examples ({report.UnseenRows} unseen), Y = {report.Target}, bound {report.Bound}");
        if (report.Note != null) Console.WriteLine("  " + report.Note);
        foreach (var r in report.Representations)
            Console.WriteLine(r.Estimable
                ? string.Create(CultureInfo.InvariantCulture, $"  I(Y; Z_{r.Representation}) ≈ {r.EstimateNats:F4} nats [{r.CiLow:F4}, {r.CiHigh:F4}]  (dim {r.Dimensions})")
                : $"  I(Y; Z_{r.Representation}): not estimable with {r.Details.N} rows (dim {r.Dimensions})");
        if (report.PoolingLossNats is double loss)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  pooling loss {loss:F4} nats"));
        if (report.TokenAnalysis is { } tokens)
            foreach (var label in tokens.Labels)
                Console.WriteLine($"  {label.Label}: " + string.Join(", ", label.TopTokens.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Token} {t.Npmi:F2}"))));
        return 0;
    }
}
