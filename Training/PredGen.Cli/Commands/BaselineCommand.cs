using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Baselines;

namespace PredGen.Cli.Commands;

/// <summary>`predgen baseline`: the classical floor (TF-IDF n-grams + a linear model) on prepared splits (issue 19).</summary>
public sealed class BaselineCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "folder with train.jsonl, validation.jsonl, test.jsonl (prepared rows)", Required = true };
        var taskKind = new Option<string>("--task-kind") { Description = "classification | regression", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "output folder: metrics.json, test_predictions.jsonl, model.zip", Required = true };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "print the result (metrics.json) as one JSON object" };
        var command = new Command("baseline",
            "Train the classical baseline (word + character n-gram TF-IDF, logistic or ridge regression, L2 chosen on validation); writes <out>/metrics.json.")
        {
            data, taskKind, output, seed, json,
        };
        command.SetAction(parse =>
        {
            var options = new BaselineOptions
            {
                TaskKind = CliNames.Parse<TaskKind>(parse.GetValue(taskKind)!, "--task-kind"),
                Seed = parse.GetValue(seed),
            };
            bool quiet = parse.GetValue(json);
            var result = TextBaseline.Run(options, parse.GetValue(data)!.FullName, parse.GetValue(output)!.FullName, quiet ? null : Console.Out);
            Console.WriteLine(quiet
                ? JsonSerializer.Serialize(result, CliJson.Options)
                : string.Create(CultureInfo.InvariantCulture, $"baseline (l2 {result.ChosenL2:G3}): test {TrainCommand.Describe(result.Test)}; {result.Model}"));
            return 0;
        });
        return command;
    }
}
