using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using PredGen.TestSupport;

namespace PredGen.Infra.Tests;

/// <summary>Runs the `bicep` binary of the Azure.Bicep.CommandLine.linux-x64 package (referenced by this project).</summary>
internal static class BicepCli
{
    public const string PackageId = "Azure.Bicep.CommandLine.linux-x64";
    public const string PackageVersion = "0.49.2";

    public static string MainBicep => Path.Combine(TestPaths.RepositoryRoot(), "infra", "main.bicep");

    private static readonly Lazy<Task<BicepRun>> s_build = new(() => RunAsync("build", MainBicep, "--stdout"));
    private static readonly Lazy<Task<JsonObject>> s_template = new(async () =>
    {
        var run = await s_build.Value;
        if (run.ExitCode != 0) throw new InvalidOperationException($"bicep build failed:\n{run.StandardError}");
        return JsonNode.Parse(run.StandardOutput)!.AsObject();
    });

    /// <summary>The template the postdeploy hook deploys (the blob trigger's Event Grid subscription).</summary>
    public static string BlobEventsSubscriptionBicep => Path.Combine(TestPaths.RepositoryRoot(), "infra", "hooks", "blob-events-subscription.bicep");

    private static readonly Lazy<Task<BicepRun>> s_buildSubscription = new(() => RunAsync("build", BlobEventsSubscriptionBicep, "--stdout"));

    /// <summary>`bicep build infra/hooks/blob-events-subscription.bicep --stdout`, run once per test run.</summary>
    public static Task<BicepRun> BuildBlobEventsSubscriptionAsync() => s_buildSubscription.Value;

    /// <summary>`bicep build infra/main.bicep --stdout`, run once per test run.</summary>
    public static Task<BicepRun> BuildMainAsync() => s_build.Value;

    /// <summary>The ARM template compiled from infra/main.bicep.</summary>
    public static Task<JsonObject> MainTemplateAsync() => s_template.Value;

    public static string Executable()
    {
        string? packageDir = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BicepPackageDirectory")?.Value;
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(packageDir)) candidates.Add(Path.Combine(packageDir, "tools", "bicep"));
        string packagesRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        candidates.Add(Path.Combine(packagesRoot, PackageId.ToLowerInvariant(), PackageVersion, "tools", "bicep"));

        string path = candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"No bicep binary from {PackageId} {PackageVersion}; looked at: {string.Join(", ", candidates)}. Run `dotnet restore`.");
        EnsureExecutable(path);
        return path;
    }

    // NuGet extracts package files without their mode on some machines: the binary must be executable to run.
    private static void EnsureExecutable(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(path);
        if ((mode & UnixFileMode.UserExecute) == 0)
            File.SetUnixFileMode(path, mode | execute);
    }

    public static async Task<BicepRun> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestPaths.RepositoryRoot(),
        };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        // Offline machine: no telemetry, no update check.
        start.Environment["BICEP_TRACING_ENABLED"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bicep did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new BicepRun(process.ExitCode, await stdout, await stderr);
    }
}

internal sealed record BicepRun(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Diagnostic lines ("file(line,col) : Warning|Error CODE: message").</summary>
    public IReadOnlyList<string> Diagnostics =>
        (StandardOutput + "\n" + StandardError).Split('\n')
            .Where(l => l.Contains(" : Warning ", StringComparison.Ordinal) || l.Contains(" : Error ", StringComparison.Ordinal))
            .Select(l => l.Trim())
            .ToList();
}
