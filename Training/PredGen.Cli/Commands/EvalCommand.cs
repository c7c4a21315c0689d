using System.CommandLine;
using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Commands;

/// <summary>`predgen eval`: metrics of a fine-tuned model on a prepared JSONL file, as one JSON object.</summary>
public sealed class EvalCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "fine-tuned model folder", Required = true };
        var data = new Option<FileInfo>("--data") { Description = "prepared JSONL file (id, text, text_b?, label)", Required = true };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32 };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "cpu" };
        var command = new Command("eval", "Evaluate a fine-tuned model on a prepared JSONL file; prints metrics JSON (accuracy, macro_f1 | mse, mae, pearson, spearman, r2).")
        {
            model, data, batch, device,
        };
        command.SetAction(parse =>
        {
            var rows = PreparedRow.ReadJsonl(parse.GetValue(data)!.FullName);
            using var trained = TrainedModel.Load(parse.GetValue(model)!.FullName, new TorchOptions { Device = parse.GetValue(device)! });
            var metrics = Evaluation.Evaluate(trained, rows, parse.GetValue(batch));
            Console.WriteLine(JsonSerializer.Serialize(metrics, CliJson.Options));
            return 0;
        });
        return command;
    }
}
