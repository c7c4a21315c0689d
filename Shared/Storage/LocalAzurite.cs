using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PredGen.Shared.Storage;

/// <summary>
/// Azurite (blob + queue + table) started from npm as a child process on free loopback ports: the one starter of the
/// test fixture (tests/PredGen.TestSupport's AzuriteFixture) and of `predgen bench serve`. The script is the copy
/// tests/package-lock.json pins (tests/node_modules; `scripts/test` or `npm ci` in tests/ installs it). Disposing stops
/// the process tree. The account name and key are Azurite's documented development account, valid only against Azurite.
/// </summary>
public sealed class LocalAzurite : IDisposable
{
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Where the script sits under a checkout's root.</summary>
    public static readonly string ScriptRelativePath = Path.Combine("tests", "node_modules", "azurite", "dist", "src", "azurite.js");

    private readonly StringBuilder _output;
    private Process? _process;

    private LocalAzurite(Process process, StringBuilder output, int blobPort, int queuePort, int tablePort)
    {
        _process = process;
        _output = output;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
        ConnectionString = ConnectionStringFor("127.0.0.1", blobPort, queuePort, tablePort);
    }

    public string ConnectionString { get; }
    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }

    /// <summary>The node process serving Azurite (its CPU time is what `predgen bench serve` reports for Azurite).</summary>
    public int ProcessId { get; private set; }

    /// <summary>What Azurite printed so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>The connection string of an Azurite reachable at <paramref name="host"/> on these ports.</summary>
    public static string ConnectionStringFor(string host, int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://{host}:{blobPort}/{AccountName};QueueEndpoint=http://{host}:{queuePort}/{AccountName};TableEndpoint=http://{host}:{tablePort}/{AccountName};";

    /// <summary>The installed script in <paramref name="startDirectory"/> or a folder above it; null when none is.</summary>
    public static string? FindScript(string startDirectory)
    {
        for (var dir = new DirectoryInfo(startDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, ScriptRelativePath);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>
    /// Starts <paramref name="script"/> and returns once the blob and queue ports accept connections. Data lives in
    /// <paramref name="location"/>, or in memory when it is null. A port taken between probing and binding costs one
    /// attempt with new ports; after <paramref name="attempts"/> the error carries Azurite's output.
    /// </summary>
    public static async Task<LocalAzurite> StartAsync(string script, string? location, TimeSpan timeout, int attempts = 3,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(script);
        if (!File.Exists(script)) throw new FileNotFoundException($"Azurite is not installed at {script}: run `npm ci` in tests/ (or scripts/test)", script);
        var output = new StringBuilder();
        for (int attempt = 0; attempt < Math.Max(1, attempts); attempt++)
        {
            int blob = FreePort(), queue = FreePort(), table = FreePort();
            var psi = new ProcessStartInfo("node")
            {
                UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
                WorkingDirectory = Path.GetTempPath(), // nothing of Azurite's lands in the checkout
            };
            psi.ArgumentList.Add(script);
            if (location == null) psi.ArgumentList.Add("--inMemoryPersistence");
            else { psi.ArgumentList.Add("--location"); psi.ArgumentList.Add(location); }
            foreach (var a in new[]
            {
                "--blobHost", "127.0.0.1", "--blobPort", Port(blob), "--queueHost", "127.0.0.1", "--queuePort", Port(queue),
                "--tableHost", "127.0.0.1", "--tablePort", Port(table), "--skipApiVersionCheck", "--loose", "--disableTelemetry",
            }) psi.ArgumentList.Add(a);
            var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start node (is Node.js installed?)");
            process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var azurite = new LocalAzurite(process, output, blob, queue, table) { ProcessId = process.Id };
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout && !process.HasExited)
            {
                if (await CanConnectAsync(blob).ConfigureAwait(false) && await CanConnectAsync(queue).ConfigureAwait(false)) return azurite;
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            azurite.Dispose();
        }
        lock (output) throw new InvalidOperationException($"Azurite ({script}) did not start listening within {timeout.TotalSeconds:0} s. Its output:\n{output}");
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

    /// <summary>Stops the process tree; safe to call more than once and from a process-exit handler.</summary>
    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _process, null);
        if (p == null) return;
        try
        {
            if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(5000); }
        }
        catch (InvalidOperationException) { /* already gone */ }
        p.Dispose();
    }
}
