using System.CommandLine;
using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Data;
using PredGen.Tooling.Data;

namespace PredGen.Cli.Commands;

/// <summary>`predgen datasets convert`: the paper's data (Hugging Face style JSONL/JSON/CSV/TSV) to PreparedRow JSONL.</summary>
public sealed class DatasetsConvertCommand : ICliCommand
{
    public string Parent => "datasets";

    public Command Create()
    {
        var format = new Option<string>("--format")
        {
            Description = "format preset: " + string.Join(", ", PaperFormats.Presets.Select(p => $"{p.Name} ({p.Family})")),
            Required = true,
        };
        var input = new Option<string>("--input") { Description = "a .jsonl, .json, .csv or .tsv file of one split", Required = true };
        var output = new Option<string>("--out") { Description = "the PreparedRow JSONL to write (e.g. data/boolq/train.jsonl)", Required = true };
        var json = new Option<bool>("--json") { Description = "print a JSON summary" };
        var command = new Command("convert", "Convert one split of a paper data set (BoolQ, STS-B, SICK, WASSA, HellaSwag, WinoGrande, ARC, PIQA, GLUE-style) to PreparedRow JSONL.")
        {
            format, input, output, json,
        };
        command.SetAction(parse =>
        {
            var preset = PaperFormats.Find(parse.GetValue(format)!);
            string inputPath = parse.GetValue(input)!;
            var rows = PaperFormats.Convert(preset, PaperFormats.ReadRecords(inputPath), Path.GetFileNameWithoutExtension(inputPath));
            string outPath = parse.GetValue(output)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
            PreparedRow.WriteJsonl(outPath, rows);
            var summary = new
            {
                Format = preset.Name,
                preset.Family,
                Rows = rows.Count,
                Kind = rows.Count > 0 && rows[0].Kind == TaskKind.Regression ? "regression" : "classification",
                Labels = rows.Where(r => r.Label != null).GroupBy(r => r.Label!).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
                Output = Path.GetFullPath(outPath),
            };
            Console.WriteLine(parse.GetValue(json) ? JsonSerializer.Serialize(summary, CliJson.Options) : $"{summary.Rows} rows ({summary.Kind}) -> {summary.Output}");
            return 0;
        });
        return command;
    }
}
