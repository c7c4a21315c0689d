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

    private static async Task<(int Code, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        try
        {
            return (await PredGenCommand.Build().Parse(args).InvokeAsync(), output.ToString());
        }
        finally
        {
            Console.SetOut(previous);
        }
    }

    [Fact]
    public async Task Mine_records_its_transform_and_says_when_the_constant_critic_won_instead_of_giving_a_zero_interval()
    {
        string dir = Directory.CreateTempSubdirectory("mine-cli").FullName;
        string path = Path.Combine(dir, "independent.jsonl");
        var (z, _) = CorrelatedGaussians.Sample(40, 8, 0, seed: 81);
        var (y, _) = CorrelatedGaussians.Sample(40, 2, 0, seed: 82);
        MinePairs.Write(path, z, y);

        var (code, output) = await Run("mine", "--input", path, "--json", "--seeds", "1", "--steps", "60", "--bootstrap", "10", "--hidden", "32", "--transform", "standardize");

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("standardize", root.GetProperty("transform").GetString());
        Assert.Equal("constant", root.GetProperty("selected").GetString());
        Assert.False(root.GetProperty("estimable").GetBoolean());
        Assert.Equal(40, root.GetProperty("n").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("ci_low").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("ci_high").ValueKind);
        Assert.StartsWith("not estimable with 40 rows", root.GetProperty("note").GetString(), StringComparison.Ordinal);

        var (_, text) = await Run("mine", "--input", path, "--seeds", "1", "--steps", "60", "--bootstrap", "10", "--hidden", "32");
        Assert.Contains("not estimable with 40 rows", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[0.0000, 0.0000]", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_mine_prints_truth_estimate_interval_error_and_verdict_per_case_as_json()
    {
        var (code, output) = await Run("bench", "mine", "--json", "--cases", "independent-t-5x5,mixture-2class-separated", "--samples", "400",
            "--seeds", "1", "--steps", "100", "--bootstrap", "10", "--hidden", "32");

        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("beyond-normal", root.GetProperty("suite").GetString());
        Assert.Equal("copula", root.GetProperty("transform").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("machine").GetString()));
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        // In the suite's order, whatever the order asked for.
        Assert.Equal(["mixture-2class-separated", "independent-t-5x5"], rows.Select(r => r.GetProperty("case").GetString()));
        Assert.Equal(Math.Log(2), rows[0].GetProperty("entropy_y").GetDouble(), 12);
        Assert.Equal(0.0, rows[1].GetProperty("truth_nats").GetDouble());
        foreach (var r in rows)
        {
            foreach (string field in new[] { "estimate_nats", "ci_low", "ci_high", "relative_error", "passed", "selected" })
                Assert.True(r.TryGetProperty(field, out _), field);
        }
        Assert.Equal(rows.All(r => r.GetProperty("passed").GetBoolean()) ? 0 : 1, code);
        Assert.Equal(rows.Count(r => r.GetProperty("passed").GetBoolean()), root.GetProperty("passed").GetInt32());
    }
}
