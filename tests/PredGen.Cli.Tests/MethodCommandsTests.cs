using System.Text.Json;
using PredGen.Cli;
using PredGen.Training.Methods;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Tests;

[Collection(ConsoleOutput.Name)]
public sealed class MethodCommandsTests
{
    [Fact]
    public async Task Train_then_predict_and_eval_a_predgen_classifier_through_the_cli()
    {
        string root = Path.Combine(Path.GetTempPath(), "predgen-cli-methods-" + Guid.NewGuid().ToString("N")[..8]);
        string baseDir = SyntheticTasks.WriteRandomBase(Path.Combine(root, "base"));
        string data = Path.Combine(root, "data");
        SyntheticTasks.WriteClassification(data);
        string outDir = Path.Combine(root, "out");

        var (code, trainOutput) = await Run("train", "--data", data, "--task-kind", "classification", "--method", "predgen", "--base", baseDir,
            "--out", outDir, "--seed", "3", "--max-steps", "100", "--lr", "3e-3", "--fine-tuning", "full", "--loss", "wdal-stabilized",
            "--schedule", "inverse-sigmoid", "--p-max", "0.5", "--patience", "0", "--eval-every", "100", "--threads", "1", "--json");
        Assert.Equal(0, code);
        using (var result = JsonDocument.Parse(trainOutput))
        {
            Assert.True(result.RootElement.GetProperty("test").GetProperty("accuracy").GetDouble() >= 0.9, trainOutput);
            Assert.Equal("PredGen", result.RootElement.GetProperty("settings").GetProperty("method").GetString());
        }
        foreach (string file in new[] { "metrics.json", "metrics.jsonl", "test_predictions.jsonl", "model/model_card.json", "model/head.safetensors", "model/config.json" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), $"{file} is missing");
        using (var step = JsonDocument.Parse(File.ReadLines(Path.Combine(outDir, "metrics.jsonl")).First()))
            foreach (string field in new[] { "l_w", "l_d", "wdal", "p", "lr", "examples_per_s" })
                Assert.True(step.RootElement.TryGetProperty(field, out _), $"metrics.jsonl lacks {field}");

        var (predictCode, predicted) = await Run("predict", "--model", Path.Combine(outDir, "model"), "--text", "it was great");
        Assert.Equal(0, predictCode);
        using (var line = JsonDocument.Parse(predicted))
        {
            Assert.Equal("pos", line.RootElement.GetProperty("prediction").GetString());
            Assert.InRange(line.RootElement.GetProperty("probability").GetDouble(), 0.5, 1.0);
            Assert.Equal("pos", line.RootElement.GetProperty("generated_text").GetString());
            Assert.Equal(1.0, line.RootElement.GetProperty("probabilities").EnumerateObject().Sum(p => p.Value.GetDouble()), 5);
        }

        string inputs = Path.Combine(root, "inputs.jsonl");
        File.WriteAllLines(inputs, ["{\"id\":\"a\",\"text\":\"so awful\"}", "{\"id\":\"b\",\"text\":\"quite nice\"}"]);
        var (fileCode, fileOutput) = await Run("predict", "--model", Path.Combine(outDir, "model"), "--input", inputs);
        Assert.Equal(0, fileCode);
        var lines = fileOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"id\":\"a\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"prediction\":\"neg\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"prediction\":\"pos\"", lines[1], StringComparison.Ordinal);

        var (evalCode, evalOutput) = await Run("eval", "--model", Path.Combine(outDir, "model"), "--data", Path.Combine(data, "train.jsonl"));
        Assert.Equal(0, evalCode);
        using var metrics = JsonDocument.Parse(evalOutput);
        Assert.True(metrics.RootElement.GetProperty("accuracy").GetDouble() >= 0.95, evalOutput);
        Assert.True(metrics.RootElement.TryGetProperty("macro_f1", out _));
    }

    private static async Task<(int Code, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        try
        {
            int code = await PredGenCommand.Build().Parse(args).InvokeAsync();
            return (code, output.ToString());
        }
        finally
        {
            Console.SetOut(previous);
        }
    }
}
