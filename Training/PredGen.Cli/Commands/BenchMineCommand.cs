using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using PredGen.Training.Mine;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Commands;

/// <summary>
/// `predgen bench mine`: the MINE validation suite (<see cref="MineValidationSuite"/>: heavy tails, bent marginals, a
/// spiral, sparse high-dimensional, discrete Y, independence), each case against its analytic truth; `--suite gaussian`
/// sweeps rho for correlated Gaussians with known I = -(d/2) ln(1 - rho^2) instead. Exit code 1 when a case misses.
/// </summary>
public sealed class BenchMineCommand : ICliCommand
{
    public string Parent => "bench";

    public Command Create()
    {
        var suite = new Option<string>("--suite") { Description = "beyond-normal (the validation suite) or gaussian (a rho sweep)", DefaultValueFactory = _ => "beyond-normal" };
        var cases = new Option<string?>("--cases") { Description = "beyond-normal: comma-separated case names (default: all)" };
        var dims = new Option<string>("--dims") { Description = "gaussian: comma-separated dimensions", DefaultValueFactory = _ => "2,20" };
        var nats = new Option<string>("--nats") { Description = "gaussian: comma-separated true MI values in nats; rho is derived per d", DefaultValueFactory = _ => "0,0.5,1,2,3" };
        var samples = new Option<int>("--samples") { Description = "samples per case (60% train, 20% validation, 20% held out)", DefaultValueFactory = _ => 10000 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var mine = MineCliOptions.Create();
        var command = new Command("mine",
            "Validate MINE against distributions with known mutual information (heavy tails, bent marginals, spiral, sparse high-dimensional, discrete Y, independence) and print truth, estimate, interval, relative error and pass/fail per case.")
        {
            suite, cases, dims, nats, samples, json,
        };
        mine.AddTo(command);
        command.SetAction(parse =>
        {
            var options = mine.Read(parse);
            string load = LoadAverage();
            var rows = (parse.GetValue(suite) ?? "").Trim().ToLowerInvariant() switch
            {
                "beyond-normal" or "beyond" => BeyondNormal(Selected(parse.GetValue(cases)), parse.GetValue(samples), options, !parse.GetValue(json)),
                "gaussian" => Gaussian(ParseList(parse.GetValue(dims)!).Select(v => (int)v), ParseList(parse.GetValue(nats)!), parse.GetValue(samples), options, !parse.GetValue(json)),
                var other => throw new ArgumentException($"--suite '{other}' is not one of beyond-normal, gaussian"),
            };
            if (parse.GetValue(json))
            {
                var report = new BenchMineReport(parse.GetValue(suite)!, MineOptions.Name(options.Bound), MineOptions.Name(options.Critic),
                    MineOptions.Name(options.Transform), parse.GetValue(samples), options.Seeds, options.ConfidenceLevel,
                    $"{RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} core(s) available to the process", load, LoadAverage(),
                    rows.Count(r => r.Passed), rows.Count, rows);
                Console.WriteLine(JsonSerializer.Serialize(report, CliJson.Options));
            }
            return rows.All(r => r.Passed) ? 0 : 1;
        });
        return command;
    }

    private static IReadOnlyList<MineValidationCase> Selected(string? names)
    {
        if (string.IsNullOrWhiteSpace(names)) return MineValidationSuite.Cases;
        var wanted = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = wanted.Where(w => MineValidationSuite.Cases.All(c => c.Name != w)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"unknown case(s) {string.Join(", ", unknown)}; the cases are {string.Join(", ", MineValidationSuite.Cases.Select(c => c.Name))}");
        return MineValidationSuite.Cases.Where(c => wanted.Contains(c.Name)).ToList();
    }

    internal static List<BenchMineRow> BeyondNormal(IReadOnlyList<MineValidationCase> cases, int samples, MineOptions options, bool print)
    {
        var rows = new List<BenchMineRow>();
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            // The seed follows the case's place in the whole suite: a case run alone (--cases) draws the same rows.
            int index = MineValidationSuite.Cases.ToList().FindIndex(x => x.Name == c.Name);
            var (z, y) = c.Sample(samples, 7000 + 101 * (index < 0 ? i : index));
            var e = MineEstimator.Estimate(z, y, options);
            double error = c.TruthNats > 0 ? (e.EstimateNats - c.TruthNats) / c.TruthNats : e.EstimateNats;
            var row = new BenchMineRow(c.Name, c.Description, c.ZDim, c.YDim, null, c.TruthNats, c.EntropyY, e.EstimateNats, e.CiLow, e.CiHigh, error,
                MineValidationSuite.Passes(c.TruthNats, e.EstimateNats, e.Estimable, c.EntropyY), e.Selected, e.Transform,
                e.PerSeed.Select(s => s.EstimateNats).ToArray(), e.PerSeed.Select(s => s.BestStep).ToArray(), e.Seconds);
            rows.Add(row);
            Progress(row, print);
        }
        return rows;
    }

    /// <summary>One line per case as it finishes: on stdout for the table, on stderr under --json (a full run takes
    /// a quarter of an hour, and the JSON comes at the end).</summary>
    private static void Progress(BenchMineRow row, bool print)
    {
        if (print) Console.WriteLine(Line(row));
        else Console.Error.WriteLine(Line(row));
    }

    private static List<BenchMineRow> Gaussian(IEnumerable<int> dims, double[] nats, int samples, MineOptions options, bool print)
    {
        var rows = new List<BenchMineRow>();
        foreach (int d in dims)
        {
            foreach (double target in nats)
            {
                double rho = CorrelatedGaussians.RhoFor(d, target);
                double truth = CorrelatedGaussians.MutualInformation(d, rho);
                var (z, y) = CorrelatedGaussians.Sample(samples, d, rho, seed: 1000 * d + (int)Math.Round(100 * target));
                var e = MineEstimator.Estimate(z, y, options);
                double error = truth > 0 ? (e.EstimateNats - truth) / truth : e.EstimateNats;
                var row = new BenchMineRow($"gaussian-d{d}-{target.ToString(CultureInfo.InvariantCulture)}", "correlated Gaussians", d, d, Math.Round(rho, 4),
                    truth, null, e.EstimateNats, e.CiLow, e.CiHigh, error,
                    truth > 0 ? Math.Abs(error) <= 0.10 : (e.CiLow <= 0 && e.CiHigh >= 0) || Math.Abs(e.EstimateNats) <= 0.02 || !e.Estimable,
                    e.Selected, e.Transform, e.PerSeed.Select(s => s.EstimateNats).ToArray(), e.PerSeed.Select(s => s.BestStep).ToArray(), e.Seconds);
                rows.Add(row);
                Progress(row, print);
            }
        }
        return rows;
    }

    private static string Line(BenchMineRow r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Case,-26} truth={r.TruthNats:F3} estimate={r.EstimateNats:F3} ") + (r.CiLow is double low && r.CiHigh is double high
            ? string.Create(CultureInfo.InvariantCulture, $"[{low:F3}, {high:F3}]")
            : "(not estimable)")
        + string.Create(CultureInfo.InvariantCulture, $" error={(r.TruthNats > 0 ? $"{100 * r.RelativeError:F1}%" : $"{r.RelativeError:F3} nats")} {(r.Passed ? "pass" : "FAIL")} ({r.Seconds:F0} s)");

    /// <summary>The 1, 5 and 15 minute load averages (what `uptime` prints), or "" where /proc is not there: a bench
    /// figure taken on a loaded machine says little about speed, and the table records it.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static double[] ParseList(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>RelativeError: (estimate - truth) / truth, or the estimate itself in nats when the truth is 0.</summary>
    internal sealed record BenchMineRow(string Case, string Description, int ZDim, int YDim, double? Rho, double TruthNats, double? EntropyY,
        double EstimateNats, double? CiLow, double? CiHigh, double RelativeError, bool Passed, string Selected, string Transform,
        IReadOnlyList<double> SeedEstimates, IReadOnlyList<int> BestSteps, double Seconds);

    internal sealed record BenchMineReport(string Suite, string Bound, string Critic, string Transform, int Samples, int Seeds, double ConfidenceLevel,
        string Machine, string LoadAverageAtStart, string LoadAverageAtEnd, int Passed, int Points, IReadOnlyList<BenchMineRow> Rows);
}
