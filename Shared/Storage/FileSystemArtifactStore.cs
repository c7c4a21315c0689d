using System.Security.Cryptography;

namespace PredGen.Shared.Storage;

/// <summary>Artifacts as files under a root folder ("runs/x/y" -> {root}/runs/x/y). ETags are content hashes; a
/// conditional write holds an exclusive lock file, so concurrent processes on one machine cannot interleave.</summary>
public sealed class FileSystemArtifactStore : IArtifactStore
{
    private readonly string _root;

    public FileSystemArtifactStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public string Location => _root;

    public string LocalPath(string path)
    {
        BlobLayout.Split(path);
        string full = Path.GetFullPath(Path.Combine(_root, path.TrimStart('/').Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"Artifact path '{path}' leaves the store.", nameof(path));
        return full;
    }

    public async Task WriteAsync(string path, BinaryData content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        string target = LocalPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Write-then-rename: a reader never sees half a file, a crash never leaves one.
        string temp = target + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        await File.WriteAllBytesAsync(temp, content.ToArray(), cancellationToken).ConfigureAwait(false);
        File.Move(temp, target, overwrite: true);
    }

    public async Task<string> WriteIfMatchAsync(string path, BinaryData content, string? expectedETag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        string target = LocalPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        string lockPath = target + ".lock";
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using var gate = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                string? current = File.Exists(target) ? ETagOf(await File.ReadAllBytesAsync(target, cancellationToken).ConfigureAwait(false)) : null;
                if (!string.Equals(current, expectedETag, StringComparison.Ordinal)) throw new ArtifactConflictException(path, expectedETag);
                await WriteAsync(path, content, cancellationToken).ConfigureAwait(false);
                return ETagOf(content.ToArray());
            }
            catch (IOException) when (attempt < 200)
            {
                await Task.Delay(25, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<StoredArtifact?> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        string target = LocalPath(path);
        if (!File.Exists(target)) return null;
        byte[] bytes = await File.ReadAllBytesAsync(target, cancellationToken).ConfigureAwait(false);
        return new StoredArtifact(BinaryData.FromBytes(bytes), ETagOf(bytes));
    }

    public async Task<PinnedRead?> OpenReadPinnedAsync(string path, string? ifMatch, CancellationToken cancellationToken = default)
    {
        string target = LocalPath(path);
        try
        {
            string version;
            await using (var hashing = new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
                version = "\"" + Convert.ToHexString(await SHA256.HashDataAsync(hashing, cancellationToken).ConfigureAwait(false))[..32] + "\"";
            if (ifMatch != null && version != ifMatch) throw new ArtifactConflictException(path, ifMatch);
            return new PinnedRead(new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), version);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            if (ifMatch != null) throw new ArtifactConflictException(path, ifMatch);
            return null;
        }
    }

    public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        string target = LocalPath(path);
        if (!File.Exists(target)) return Task.FromResult<Stream?>(null);
        try
        {
            return Task.FromResult<Stream?>(new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan));
        }
        catch (FileNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<ArtifactWriteStream> OpenWriteAsync(string path, CancellationToken cancellationToken = default)
    {
        string target = LocalPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        return Task.FromResult<ArtifactWriteStream>(new FileWriter(target));
    }

    /// <summary>Writes a temporary file next to the target and renames it over the target on commit, as WriteAsync does.</summary>
    private sealed class FileWriter(string target) : ArtifactWriteStream
    {
        private readonly string _temp = target + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        private FileStream? _file;
        private bool _committed;

        private FileStream File => _file ??= new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);

        public override void Write(byte[] buffer, int offset, int count) => File.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => File.Write(buffer);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => File.WriteAsync(buffer, cancellationToken);

        public override async Task CommitAsync(CancellationToken cancellationToken = default)
        {
            var file = File;
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            await file.DisposeAsync().ConfigureAwait(false);
            System.IO.File.Move(_temp, target, overwrite: true);
            _committed = true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _file?.Dispose();
                if (!_committed && System.IO.File.Exists(_temp)) System.IO.File.Delete(_temp);
            }
            base.Dispose(disposing);
        }
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(LocalPath(path)));

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        string normalized = prefix.TrimStart('/');
        int slash = normalized.IndexOf('/', StringComparison.Ordinal);
        string container = slash < 0 ? normalized : normalized[..slash];
        string dir = Path.Combine(_root, container);
        if (container.Length == 0 || !Directory.Exists(dir)) return Task.FromResult<IReadOnlyList<string>>([]);
        IReadOnlyList<string> found = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal) && !f.EndsWith(".lock", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(_root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(p => p.StartsWith(normalized, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(found);
    }

    public Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        string target = LocalPath(path);
        if (File.Exists(target)) File.Delete(target);
        return Task.CompletedTask;
    }

    private static string ETagOf(byte[] bytes) => "\"" + Convert.ToHexString(SHA256.HashData(bytes))[..32] + "\"";
}
