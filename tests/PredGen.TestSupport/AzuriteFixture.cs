using System.Diagnostics;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using PredGen.Shared.Storage;
using Xunit;

namespace PredGen.TestSupport;

/// <summary>
/// One Azurite (blob + queue + table) per test collection. With a Docker engine it runs the official image through
/// Testcontainers; without one (the development machines and CI) it starts Azurite from npm, pinned in
/// tests/package.json + package-lock.json and installed here with `npm ci` when missing, on free loopback ports with
/// a temporary location. Whatever it started it stops, also when tests fail or the test host exits.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>The account name and key every Azurite instance accepts (documented; not a secret).</summary>
    public const string AccountName = LocalAzurite.AccountName;
    public const string AccountKey = LocalAzurite.AccountKey;

    private LocalAzurite? _azurite;
    private IContainer? _container;
    private string? _location;
    private readonly StringBuilder _output = new();

    public string ConnectionString { get; private set; } = "";
    public int BlobPort { get; private set; }
    public int QueuePort { get; private set; }
    public string Mode { get; private set; } = "";

    /// <summary>Client options pinned to a service version that Azurite 3.37 accepts (shared/PLATFORM.md).</summary>
    public BlobServiceClient CreateBlobServiceClient() =>
        new(ConnectionString, new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06));

    public QueueServiceClient CreateQueueServiceClient() =>
        new(ConnectionString, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06));

    public async Task InitializeAsync()
    {
        if (DockerEngineMayAnswer())
        {
            try
            {
                await StartContainerAsync().ConfigureAwait(false);
                return;
            }
#pragma warning disable CA1031 // any failure of the container route falls back to npm, which is what CI uses
            catch (Exception e)
#pragma warning restore CA1031
            {
                _output.AppendLine($"Testcontainers failed, falling back to npm Azurite: {e.Message}");
                if (_container != null) await _container.DisposeAsync().ConfigureAwait(false);
                _container = null;
            }
        }
        await StartFromNpmAsync().ConfigureAwait(false);
    }

    public async Task DisposeAsync()
    {
        if (_container != null) await _container.DisposeAsync().ConfigureAwait(false);
        _azurite?.Dispose();
        if (_location != null)
        {
            try { Directory.Delete(_location, recursive: true); }
            catch (IOException) { /* Azurite may still flush; the temp folder is harmless */ }
        }
    }

    /// <summary>Microsecond guard: no DOCKER_HOST and no socket means no engine (Testcontainers would take ~1 s to say so).</summary>
    private static bool DockerEngineMayAnswer() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")) || File.Exists("/var/run/docker.sock");

    private async Task StartContainerAsync()
    {
        _container = new ContainerBuilder("mcr.microsoft.com/azure-storage/azurite:3.35.0")
            .WithCommand("azurite", "--blobHost", "0.0.0.0", "--queueHost", "0.0.0.0", "--tableHost", "0.0.0.0", "--skipApiVersionCheck", "--loose")
            .WithPortBinding(10000, true).WithPortBinding(10001, true).WithPortBinding(10002, true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilInternalTcpPortIsAvailable(10000).UntilInternalTcpPortIsAvailable(10001))
            .Build();
        await _container.StartAsync().ConfigureAwait(false);
        BlobPort = _container.GetMappedPublicPort(10000);
        QueuePort = _container.GetMappedPublicPort(10001);
        int tablePort = _container.GetMappedPublicPort(10002);
        ConnectionString = LocalAzurite.ConnectionStringFor(_container.Hostname, BlobPort, QueuePort, tablePort);
        Mode = "testcontainers";
    }

    private async Task StartFromNpmAsync()
    {
        string testsDir = TestPaths.TestsDirectory();
        string script = Path.Combine(testsDir, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script)) await NpmCiAsync(testsDir, script).ConfigureAwait(false);

        _location = Path.Combine(Path.GetTempPath(), "predgen-azurite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_location);
        _azurite = await LocalAzurite.StartAsync(script, _location, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        // Stopped also when the test host exits without disposing the fixture.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => _azurite?.Dispose();
        BlobPort = _azurite.BlobPort;
        QueuePort = _azurite.QueuePort;
        ConnectionString = _azurite.ConnectionString;
        Mode = "npm";
    }

    private static async Task NpmCiAsync(string testsDir, string script)
    {
        // Several test assemblies run in parallel: one installs, the others wait on the lock file.
        string lockPath = Path.Combine(testsDir, ".npm-install.lock");
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            try
            {
                using var gate = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                if (File.Exists(script)) return;
                var psi = new ProcessStartInfo("npm", "ci --no-audit --no-fund --loglevel=error")
                {
                    WorkingDirectory = testsDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                };
                using var npm = Process.Start(psi) ?? throw new InvalidOperationException("could not start npm (is Node.js installed?)");
                var stdout = npm.StandardOutput.ReadToEndAsync();
                var stderr = npm.StandardError.ReadToEndAsync();
                await npm.WaitForExitAsync().ConfigureAwait(false);
                if (npm.ExitCode != 0 || !File.Exists(script))
                    throw new InvalidOperationException($"`npm ci` in {testsDir} failed ({npm.ExitCode}):\n{await stdout.ConfigureAwait(false)}\n{await stderr.ConfigureAwait(false)}");
                return;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500).ConfigureAwait(false);
                if (File.Exists(script)) return;
            }
        }
    }
}

/// <summary>The collection name for tests that share one Azurite. xunit needs the definition in the test assembly itself:
/// each assembly declares <c>[CollectionDefinition(AzuriteTests.Name)] class X : ICollectionFixture&lt;AzuriteFixture&gt;</c>.</summary>
public static class AzuriteTests
{
    public const string Name = "Azurite";
}
