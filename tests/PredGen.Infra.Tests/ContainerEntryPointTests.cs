using System.Text.Json;
using System.Text.RegularExpressions;
using PredGen.TestSupport;

namespace PredGen.Infra.Tests;

/// <summary>The images' CMD runs a `predgen` command, with options, that exists (Training/PredGen.Cli/Commands).</summary>
public sealed partial class ContainerEntryPointTests
{
    [GeneratedRegex(@"(?m)^CMD\s+(\[.*\])\s*$")]
    private static partial Regex CmdLine();

    [GeneratedRegex(@"new\s+Command\(\s*""(?<name>[^""]+)""")]
    private static partial Regex CommandName();

    [GeneratedRegex(@"Parent\s*=>\s*""(?<parent>[^""]*)""")]
    private static partial Regex CommandParent();

    [GeneratedRegex(@"new\s+Option<[^>]+>\(\s*""(?<name>--[^""]+)""")]
    private static partial Regex OptionName();

    [Theory]
    [InlineData("Dockerfile.trainer", "worker")]
    [InlineData("Dockerfile.prediction-worker", "serve")]
    public void Image_runs_an_existing_predgen_command_with_options_it_declares(string dockerfile, string expectedCommand)
    {
        string root = TestPaths.RepositoryRoot();
        string text = File.ReadAllText(Path.Combine(root, "Training", dockerfile));
        Assert.Contains(@"ENTRYPOINT [""dotnet"", ""predgen.dll""]", text, StringComparison.Ordinal);
        var cmd = JsonSerializer.Deserialize<string[]>(CmdLine().Matches(text).Last().Groups[1].Value)!;
        var path = cmd.TakeWhile(a => !a.StartsWith('-')).ToList();
        Assert.Equal(expectedCommand, string.Join(' ', path));

        string parent = string.Join(' ', path.SkipLast(1));
        var sources = Directory.EnumerateFiles(Path.Combine(root, "Training", "PredGen.Cli", "Commands"), "*.cs")
            .Select(File.ReadAllText)
            .Where(s => CommandName().Match(s) is { Success: true } m && m.Groups["name"].Value == path[^1]
                     && CommandParent().Match(s).Groups["parent"].Value == parent)
            .ToList();
        string source = Assert.Single(sources);
        var declared = OptionName().Matches(source).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);
        foreach (string option in cmd.Where(a => a.StartsWith("--", StringComparison.Ordinal)))
            Assert.Contains(option, declared);
    }
}
