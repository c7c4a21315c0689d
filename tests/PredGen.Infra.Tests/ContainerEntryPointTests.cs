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

public sealed class TrainerImageTests
{
    [Fact]
    public void Trainer_image_carries_the_committed_base_model_and_makes_it_the_workers_default()
    {
        // In Azure the retrain request names no base model unless Retrain:BaseModel is set; the worker then falls
        // back to Worker:BaseModel, which must be a folder inside the image.
        string root = TestPaths.RepositoryRoot();
        string dockerfile = File.ReadAllText(Path.Combine(root, "Training", "Dockerfile.trainer"));
        var env = Regex.Match(dockerfile, @"(?m)^ENV\s+Worker__BaseModel=(\S+)\s*$");
        var copy = Regex.Match(dockerfile, @"(?m)^COPY\s+models/base/?\s+(\S+)\s*$");

        Assert.True(env.Success, "no ENV Worker__BaseModel in Dockerfile.trainer");
        Assert.True(copy.Success, "Dockerfile.trainer does not copy models/base");
        Assert.Equal(env.Groups[1].Value.TrimEnd('/'), "/app/" + copy.Groups[1].Value.TrimStart('.', '/').TrimEnd('/'));
        Assert.Contains("WORKDIR /app", dockerfile, StringComparison.Ordinal);
        foreach (string file in new[] { "config.json", "model.safetensors" })
            Assert.True(File.Exists(Path.Combine(root, "models", "base", file)), $"models/base/{file} is not committed");
    }
}
