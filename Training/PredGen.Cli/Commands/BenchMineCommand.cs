using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Training.Mine;

namespace PredGen.Cli.Commands;

/// <summary>`predgen bench mine`: MINE against correlated Gaussians with known I = -(d/2) ln(1 - rho^2).</summary>
public sealed class BenchMineCommand : ICliCommand
{
    public string Parent => "bench";

    public Command Create()
    {
        var dims = new Option<string>("--dims") { Description = "comma-separated dimensions", DefaultValueFactory = _ => "2,20" };
        var nats = new Option<string>("--nats") { Description = "comma-separated true MI values in nats; rho is derived per d", DefaultValueFactory = _ => "0,0.5,1,2,3" };
        var samples = new Option<int>("--samples") { Description = "samples per point (60% train, 20% validation, 20% held out)", DefaultValueFactory = _ => 10000 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var mine = MineCliOptions.Create();
        var command = new Command("mine", "Sweep rho for correlated Gaussians (d = 2 and 20) and print the MINE estimate against the true MI with its interval.")
        {
            dims, nats, samples, json,
        };
        mine.AddTo(command);
        command.SetAction(parse =>
        {
            var options = mine.Read(parse);
            var rows = new List<BenchMineRow>();
            foreach (int d in ParseList(parse.GetValue(dims)!).Select(v => (int)v))
            {
                foreach (double target in ParseList(parse.GetValue(nats)!))
                {
                    double rho = CorrelatedGaussians.RhoFor(d, target);
                    double truth = CorrelatedGaussians.MutualInformation(d, rho);
                    var (z, y) = CorrelatedGaussians.Sample(parse.GetValue(samples), d, rho, seed: 1000 * d + (int)Math.Round(100 * target));
                    var e = MineEstimator.Estimate(z, y, options);
                    double error = truth > 0 ? (e.EstimateNats - truth) / truth : e.EstimateNats;
                    var row = new BenchMineRow(d, Math.Round(rho, 4), truth, e.EstimateNats, e.CiLow, e.CiHigh, error,
                        truth > 0 ? Math.Abs(error) <= 0.10 : (e.CiLow <= 0 && e.CiHigh >= 0) || Math.Abs(e.EstimateNats) <= 0.02,
                        e.PerSeed.Select(s => s.EstimateNats).ToArray(), e.PerSeed.Select(s => s.BestStep).ToArray(), e.Seconds);
                    rows.Add(row);
                    if (!parse.GetValue(json))
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"d={d,-3} rho={rho:F4} truth={truth:F3} estimate={e.EstimateNats:F3} [{e.CiLow:F3}, {e.CiHigh:F3}] error={100 * error:F1}% ({e.Seconds:F0} s)"));
                }
            }
            if (parse.GetValue(json))
            {
                var report = new BenchMineReport(MineOptions.Name(options.Bound), MineOptions.Name(options.Critic), parse.GetValue(samples),
                    options.Seeds, options.ConfidenceLevel, rows.Count(r => r.Passed), rows.Count, rows);
                Console.WriteLine(JsonSerializer.Serialize(report, CliJson.Options));
            }
            return rows.All(r => r.Passed) ? 0 : 1;
        });
        return command;
    }

    private static double[] ParseList(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    internal sealed record BenchMineRow(int D, double Rho, double TruthNats, double EstimateNats, double CiLow, double CiHigh,
        double RelativeError, bool Passed, IReadOnlyList<double> SeedEstimates, IReadOnlyList<int> BestSteps, double Seconds);

    internal sealed record BenchMineReport(string Bound, string Critic, int Samples, int Seeds, double ConfidenceLevel,
        int Passed, int Points, IReadOnlyList<BenchMineRow> Rows);
}
