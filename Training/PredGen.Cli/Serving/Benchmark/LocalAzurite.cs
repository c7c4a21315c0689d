using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PredGen.Cli.Serving.Benchmark;

/// <summary>
/// Azurite for `predgen bench serve` when no --queues is given: the copy the tests install (tests/node_modules, pinned
/// by tests/package-lock.json; `scripts/test` or `npm ci` in tests/ puts it there), on free loopback ports, in memory,
/// stopped when disposed.
/// </summary>
public sealed class LocalAzurite : IDisposable
{
    private readonly Process _process;

    private LocalAzurite(Process process, string connectionString)
    {
        _process = process;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    /// <summary>The node process serving Azurite (for its CPU time: `predgen bench serve` reports what it took).</summary>
    public int ProcessId => _process.Id;

    public static async Task<LocalAzurite> StartAsync(CancellationToken cancellationToken)
    {
        string script = FindScript() ?? throw new InvalidOperationException(
            "Azurite is not installed under tests/node_modules: run `npm ci` in tests/ (or scripts/test), or pass --queues <connection string>.");
        int blob = FreePort(), queue = FreePort(), table = FreePort();
        var psi = new ProcessStartInfo("node")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in new[]
        {
            script, "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", Port(blob), "--queueHost", "127.0.0.1", "--queuePort", Port(queue),
            "--tableHost", "127.0.0.1", "--tablePort", Port(table), "--skipApiVersionCheck", "--loose", "--disableTelemetry",
        }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new LocalAzurite(process,
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;");
        var stopwatch = Stopwatch.StartNew();
        while (!(await CanConnectAsync(blob).ConfigureAwait(false) && await CanConnectAsync(queue).ConfigureAwait(false)))
        {
            if (process.HasExited || stopwatch.Elapsed > TimeSpan.FromSeconds(90))
            {
                azurite.Dispose();
                lock (output) throw new InvalidOperationException($"Azurite ({script}) did not start listening within 90 s:\n{output}");
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
        return azurite;
    }

    private static string? FindScript()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "node_modules", "azurite", "dist", "src", "azurite.js");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string Port(int p) => p.ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
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

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); }
        }
        catch (InvalidOperationException) { /* already gone */ }
        _process.Dispose();
    }
}
