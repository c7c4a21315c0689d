using System.Text.Json;
using PredGen.Cli;
using PredGen.Training.Mine;

namespace PredGen.Cli.Tests;

[Collection(ConsoleOutput.Name)]
public sealed class MineCommandTests
{
    [Fact]
    public async Task Mine_with_an_input_file_prints_the_estimate_its_interval_and_the_bound_as_json()
    {
        string dir = Directory.CreateTempSubdirectory("mine-cli").FullName;
        string path = Path.Combine(dir, "pairs.jsonl");
        var (z, y) = CorrelatedGaussians.Sample(400, 2, CorrelatedGaussians.RhoFor(2, 1.0), seed: 3);
        MinePairs.Write(path, z, y);

        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        int code;
        try
        {
            code = await PredGenCommand.Build().Parse(
                ["mine", "--input", path, "--json", "--curve", "--seeds", "1", "--steps", "100", "--bootstrap", "10", "--hidden", "32"]).InvokeAsync();
        }
        finally
        {
            Console.SetOut(previous);
        }

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output.ToString());
        var root = doc.RootElement;
        Assert.Equal("dv", root.GetProperty("bound").GetString());
        Assert.Equal(400, root.GetProperty("n").GetInt32());
        Assert.Equal(80, root.GetProperty("held_out_size").GetInt32());
        double estimate = root.GetProperty("estimate_nats").GetDouble();
        Assert.InRange(estimate, root.GetProperty("ci_low").GetDouble(), root.GetProperty("ci_high").GetDouble());
        Assert.Equal(root.GetProperty("curve_length").GetInt32(), root.GetProperty("curve").GetArrayLength());
    }
}
