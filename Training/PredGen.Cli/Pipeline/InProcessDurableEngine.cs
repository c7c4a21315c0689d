using System.Reflection;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PredGen.Cli.Pipeline;

/// <summary>
/// The Durable Task engine of the one-machine pipeline, and the only code in the shipped CLI that touches
/// Microsoft.DurableTask.InProcessTestHost. That package is a preview *test* host; it is used because it is the only
/// in-process engine with the real replay semantics that this machine can restore (DurableTask.AzureStorage and the
/// Durable Task Scheduler packages are not served, shared/PLATFORM.md), and production never runs on it: in Azure the
/// same orchestrations run on the Functions host's Durable extension with Azure Storage. It is pinned to one exact
/// version in Directory.Packages.props, and tests/PredGen.Cli.Tests/Pipeline/InProcessDurableEngineTests.cs covers
/// what the CLI relies on (fan-out, timers, external events with timeouts, custom status, instance ids, purge), so an
/// upgrade that changes any of it fails there first.
/// </summary>
public sealed class InProcessDurableEngine : IAsyncDisposable
{
    /// <summary>The version Directory.Packages.props pins and the engine tests were written against.</summary>
    public const string PinnedVersion = "0.2.3-preview.1";

    private readonly DurableTaskTestHost _host;

    private InProcessDurableEngine(DurableTaskTestHost host) => _host = host;

    public DurableTaskClient Client => _host.Client;

    /// <summary>The InProcessTestHost version actually loaded (its informational version, without the commit suffix).</summary>
    public static string LoadedVersion =>
        (typeof(DurableTaskTestHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "").Split('+')[0];

    /// <summary>
    /// Starts the engine with the given orchestrations and activities. Activities get their dependencies from
    /// <paramref name="services"/>. Logging goes to <paramref name="loggers"/>; the engine's own gRPC sidecar is
    /// told to log warnings only (it logs every request at Information otherwise, about 550 lines a run).
    /// </summary>
    public static async Task<InProcessDurableEngine> StartAsync(Action<DurableTaskRegistry> tasks, Action<IServiceCollection>? services,
        ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(loggers);
        // The sidecar is a generic host that reads its log level from the environment, not from the factory.
        if (Environment.GetEnvironmentVariable("DOTNET_Logging__LogLevel__Default") == null)
            Environment.SetEnvironmentVariable("DOTNET_Logging__LogLevel__Default", "Warning");
        var host = await DurableTaskTestHost.StartAsync(tasks, new DurableTaskTestHostOptions
        {
            LoggerFactory = loggers,
            ConfigureServices = s => services?.Invoke(s),
        }, cancellationToken).ConfigureAwait(false);
        return new InProcessDurableEngine(host);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
