namespace PredGen.Infra.Tests;

public sealed class BicepTests
{
    [Fact]
    public async Task Bicep_binary_is_the_pinned_package_version()
    {
        var run = await BicepCli.RunAsync("--version");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"Bicep CLI version {BicepCli.PackageVersion}", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_bicep_builds_with_no_errors_and_no_warnings()
    {
        var run = await BicepCli.BuildMainAsync();

        Assert.True(run.ExitCode == 0, $"bicep build exited {run.ExitCode}:\n{run.StandardError}");
        Assert.Empty(run.Diagnostics);
        Assert.StartsWith("{", run.StandardOutput.TrimStart(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_bicep_and_its_modules_lint_with_no_errors_and_no_warnings()
    {
        var run = await BicepCli.RunAsync("lint", BicepCli.MainBicep);

        Assert.True(run.ExitCode == 0, $"bicep lint exited {run.ExitCode}:\n{run.StandardOutput}\n{run.StandardError}");
        Assert.Empty(run.Diagnostics);
    }

    [Fact]
    public void Infra_uses_only_local_modules()
    {
        // Registry modules (br:, br/public:, ts:) cannot be restored on the build machines.
        string infra = Path.GetDirectoryName(BicepCli.MainBicep)!;
        var remote = Directory.EnumerateFiles(infra, "*.bicep", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => System.Text.RegularExpressions.Regex.IsMatch(x.line, @"^\s*module\s+\w+\s+'(br[:/]|ts[:/])"))
            .Select(x => $"{Path.GetRelativePath(infra, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();

        Assert.Empty(remote);
    }
}
