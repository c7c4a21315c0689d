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

public sealed class ParametersFileTests
{
    [Fact]
    public async Task Main_parameters_json_names_only_parameters_of_main_bicep_and_sets_every_required_one()
    {
        var template = await BicepCli.MainTemplateAsync();
        var declared = template["parameters"]!.AsObject();
        string file = Path.Combine(Path.GetDirectoryName(BicepCli.MainBicep)!, "main.parameters.json");
        var given = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!["parameters"]!.AsObject();

        var unknown = given.Select(p => p.Key).Where(k => !declared.ContainsKey(k)).ToList();
        Assert.True(unknown.Count == 0, $"not parameters of main.bicep: {string.Join(", ", unknown)}");
        var required = declared.Where(p => p.Value!.AsObject()["defaultValue"] is null).Select(p => p.Key).ToList();
        Assert.Equal(["environmentName", "location"], required.Order(StringComparer.Ordinal));
        foreach (string name in required) Assert.True(given.ContainsKey(name), $"main.parameters.json does not set {name}");
        // azd substitutes ${NAME} from the environment: every value is one such reference.
        Assert.All(given, p => Assert.Matches(@"^\$\{[A-Z0-9_]+(=[^}]*)?\}$", (string?)p.Value!["value"] ?? ""));
    }
}
