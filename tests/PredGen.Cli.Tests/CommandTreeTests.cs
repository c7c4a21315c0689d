using System.CommandLine;
using PredGen.Cli;

namespace PredGen.Cli.Tests;

[Collection(ConsoleOutput.Name)]
public sealed class CommandTreeTests
{
    [Fact]
    public void The_root_command_exposes_info_and_every_command_has_a_description()
    {
        var root = PredGenCommand.Build();
        Assert.Contains(root.Subcommands, c => c.Name == "info");
        foreach (var command in Walk(root))
            Assert.False(string.IsNullOrWhiteSpace(command.Description), $"command '{command.Name}' has no description");
    }

    [Fact]
    public async Task Info_as_json_reports_versions_and_a_positive_matmul_figure()
    {
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        try
        {
            int code = await PredGenCommand.Build().Parse(["info", "--json", "--device", "cpu"]).InvokeAsync();
            Assert.Equal(0, code);
        }
        finally
        {
            Console.SetOut(previous);
        }
        using var doc = System.Text.Json.JsonDocument.Parse(output.ToString());
        Assert.Equal("0.107.0", doc.RootElement.GetProperty("torch_sharp_version").GetString());
        Assert.True(doc.RootElement.GetProperty("matmul_gflops").GetDouble() > 0);
    }

    private static IEnumerable<Command> Walk(Command c) => new[] { c }.Concat(c.Subcommands.SelectMany(Walk));
}
