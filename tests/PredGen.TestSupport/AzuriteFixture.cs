using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
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
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private Process? _process;
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
        StopProcess();
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
        ConnectionString = BuildConnectionString(_container.Hostname, BlobPort, QueuePort, tablePort);
        Mode = "testcontainers";
    }

    private async Task StartFromNpmAsync()
    {
        string testsDir = TestPaths.TestsDirectory();
        string script = Path.Combine(testsDir, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script)) await NpmCiAsync(testsDir, script).ConfigureAwait(false);

        _location = Path.Combine(Path.GetTempPath(), "predgen-azurite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_location);
        // One handler for the fixture's life: StopProcess stops whichever attempt is current (and is a no-op after Dispose).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopProcess();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            BlobPort = FreePort(); QueuePort = FreePort(); int tablePort = FreePort();
            var psi = new ProcessStartInfo("node")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                WorkingDirectory = testsDir,
            };
            foreach (var a in new[]
            {
                script, "--location", _location, "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(CultureInfo.InvariantCulture),
                "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(CultureInfo.InvariantCulture),
                "--tableHost", "127.0.0.1", "--tablePort", tablePort.ToString(CultureInfo.InvariantCulture),
                "--skipApiVersionCheck", "--loose", "--disableTelemetry",
            }) psi.ArgumentList.Add(a);
            _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
            _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_output) _output.AppendLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();

            if (await WaitForPortsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false))
            {
                ConnectionString = BuildConnectionString("127.0.0.1", BlobPort, QueuePort, tablePort);
                Mode = "npm";
                return;
            }
            StopProcess(); // a port was taken between probing and binding: try new ports
        }
        throw new InvalidOperationException("Azurite did not start listening within 30 s. Its output:\n" + _output);
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

    private async Task<bool> WaitForPortsAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (_process is { HasExited: true }) return false;
            if (await CanConnectAsync(BlobPort).ConfigureAwait(false) && await CanConnectAsync(QueuePort).ConfigureAwait(false)) return true;
            await Task.Delay(100).ConfigureAwait(false);
        }
        return false;
    }

    private static async Task<bool> CanConnectAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void StopProcess()
    {
        var p = _process;
        if (p == null) return;
        try
        {
            if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(5000); }
        }
        catch (InvalidOperationException) { /* already gone */ }
        p.Dispose();
        _process = null;
    }

    private static string BuildConnectionString(string host, int blob, int queue, int table) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://{host}:{blob}/{AccountName};QueueEndpoint=http://{host}:{queue}/{AccountName};TableEndpoint=http://{host}:{table}/{AccountName};";
}

/// <summary>The collection name for tests that share one Azurite. xunit needs the definition in the test assembly itself:
/// each assembly declares <c>[CollectionDefinition(AzuriteTests.Name)] class X : ICollectionFixture&lt;AzuriteFixture&gt;</c>.</summary>
public static class AzuriteTests
{
    public const string Name = "Azurite";
}
