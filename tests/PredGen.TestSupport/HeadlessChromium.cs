using System.Diagnostics;
using System.Text;

namespace PredGen.TestSupport;

/// <summary>
/// Debian's chromium, headless, for tests that look at a page the product writes (the report). Flags keep it offline
/// and quiet: no sandbox (root in CI), no GPU, no QUIC, no first-run, background networking, component updates or sync,
/// and a throw-away profile.
/// </summary>
public sealed class HeadlessChromium
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    private HeadlessChromium(string path) => Path = path;

    public string Path { get; }

    /// <summary>The browser, or an exception that says what is missing and how to install it.</summary>
    public static HeadlessChromium Find()
    {
        foreach (var candidate in Candidates)
            if (File.Exists(candidate)) return new HeadlessChromium(candidate);
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
                if (File.Exists(System.IO.Path.Combine(dir, name))) return new HeadlessChromium(System.IO.Path.Combine(dir, name));
        throw new InvalidOperationException(
            "Headless Chromium is missing: no /usr/bin/chromium (nor chromium-browser / google-chrome on PATH). The report test opens the " +
            "generated page in a real browser. Install Debian's package as root: `apt-get update && apt-get install -y chromium` " +
            "(scripts/test does this when it runs as root with apt).");
    }

    /// <summary>Writes a PNG of the page at <paramref name="url"/> to <paramref name="pngPath"/>.</summary>
    public async Task ScreenshotAsync(string url, string pngPath, int width = 1280, int height = 2000, TimeSpan? timeout = null)
    {
        File.Delete(pngPath);
        var (code, _, stderr) = await RunAsync([$"--screenshot={pngPath}", $"--window-size={width},{height}", "--hide-scrollbars", url], timeout).ConfigureAwait(false);
        if (code != 0 || !File.Exists(pngPath))
            throw new InvalidOperationException($"chromium --screenshot failed (exit {code}): {Tail(stderr)}");
    }

    /// <summary>The DOM of the page after load, as chromium serializes it.</summary>
    public async Task<string> DumpDomAsync(string url, TimeSpan? timeout = null)
    {
        var (code, stdout, stderr) = await RunAsync(["--dump-dom", url], timeout).ConfigureAwait(false);
        if (code != 0 || stdout.Length == 0) throw new InvalidOperationException($"chromium --dump-dom failed (exit {code}): {Tail(stderr)}");
        return stdout;
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, TimeSpan? timeout)
    {
        string profile = Directory.CreateTempSubdirectory("predgen-chromium-").FullName;
        try
        {
            var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var flag in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
            }) info.ArgumentList.Add(flag);
            foreach (var a in args) info.ArgumentList.Add(a);
            using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Path}");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
            try
            {
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish within {(timeout ?? TimeSpan.FromSeconds(90)).TotalSeconds} s: {Tail(await stderr.ConfigureAwait(false))}");
            }
            return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); }
            catch (IOException) { /* chromium may still release its profile lock; the folder is in /tmp */ }
        }
    }

    private static string Tail(string text) => text.Length <= 1500 ? text : text[^1500..];
}
