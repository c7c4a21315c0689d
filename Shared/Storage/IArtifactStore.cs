namespace PredGen.Shared.Storage;

/// <summary>An artifact as stored: its bytes and the version tag to use for a conditional overwrite.</summary>
public sealed record StoredArtifact(BinaryData Content, string ETag);

/// <summary>An artifact opened for reading and the version (ETag) the stream reads.</summary>
public sealed record PinnedRead(Stream Stream, string ETag) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}

/// <summary>
/// An artifact being written as a stream: bytes go to the store as they are written (in blocks), so a writer of a large
/// artifact never holds it whole. Nothing is visible until <see cref="CommitAsync"/>, which replaces any previous
/// version at once; disposing without committing leaves the previous version (or none) and discards what was written.
/// </summary>
public abstract class ArtifactWriteStream : Stream
{
    public abstract Task CommitAsync(CancellationToken cancellationToken = default);

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() { }
}

/// <summary>The fallback writer of stores that cannot stream (test doubles): buffers, and writes whole on commit.</summary>
internal sealed class BufferedArtifactWriteStream(IArtifactStore store, string path) : ArtifactWriteStream
{
    private readonly MemoryStream _buffer = new();

    public override void Write(byte[] buffer, int offset, int count) => _buffer.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => _buffer.Write(buffer);

    public override Task CommitAsync(CancellationToken cancellationToken = default) =>
        store.WriteAsync(path, BinaryData.FromBytes(_buffer.ToArray()), cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _buffer.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>The optimistic-concurrency check failed: someone else changed the artifact since it was read.</summary>
public sealed class ArtifactConflictException(string path, string? expectedETag)
    : Exception($"'{path}' changed since it was read (expected version {expectedETag ?? "<absent>"}); re-read and retry.")
{
    public string Path { get; } = path;
}

/// <summary>
/// The one artifact store: every dataset, prepared shard, checkpoint, model, metric, report and pointer goes through
/// it. Paths are '/'-separated and start with the container ("datasets/...", "runs/...", see <see cref="BlobLayout"/>).
/// Blob Storage in Azure (and Azurite), a folder on one machine.
/// </summary>
public interface IArtifactStore
{
    /// <summary>A display form of where artifacts live (folder path or account URL), never with credentials.</summary>
    string Location { get; }

    Task WriteAsync(string path, BinaryData content, CancellationToken cancellationToken = default);

    /// <summary>Writes only if the artifact still has <paramref name="expectedETag"/> (null: only if it does not exist).
    /// Returns the new ETag; throws <see cref="ArtifactConflictException"/> otherwise.</summary>
    Task<string> WriteIfMatchAsync(string path, BinaryData content, string? expectedETag, CancellationToken cancellationToken = default);

    /// <summary>The artifact, or null when it does not exist.</summary>
    Task<StoredArtifact?> ReadAsync(string path, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The artifact as a forward-only stream, or null when it does not exist. Readers of large inputs (a
    /// 100 MB dataset) use this instead of <see cref="ReadAsync"/>; the default buffers the whole artifact, stores that
    /// can stream override it.</summary>
    async Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var artifact = await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        return artifact?.Content.ToStream();
    }

    /// <summary>Paths under a prefix (recursive), in ordinal order.</summary>
    /// <summary>Like <see cref="OpenReadAsync"/>, with the version read; with <paramref name="ifMatch"/>, that version only
    /// (another one, or none, throws <see cref="ArtifactConflictException"/>). A reader that reads an artifact twice pins
    /// the second read to the first's ETag, so an overwrite in between cannot mix two versions.</summary>
    async Task<PinnedRead?> OpenReadPinnedAsync(string path, string? ifMatch, CancellationToken cancellationToken = default)
    {
        var artifact = await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        if (ifMatch != null && artifact?.ETag != ifMatch) throw new ArtifactConflictException(path, ifMatch);
        return artifact == null ? null : new PinnedRead(artifact.Content.ToStream(), artifact.ETag);
    }

    /// <summary>Opens <paramref name="path"/> for writing as a stream (<see cref="ArtifactWriteStream"/>): for outputs that
    /// grow with the input (prepared splits), which must never sit in memory whole. The default buffers (stores that
    /// can stream override it).</summary>
    Task<ArtifactWriteStream> OpenWriteAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult<ArtifactWriteStream>(new BufferedArtifactWriteStream(this, path));

    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default);

    Task DeleteAsync(string path, CancellationToken cancellationToken = default);
}

public static class ArtifactStoreExtensions
{
    public static async Task<string?> ReadTextAsync(this IArtifactStore store, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var a = await store.ReadAsync(path, cancellationToken).ConfigureAwait(false);
        return a?.Content.ToString();
    }

    public static Task WriteTextAsync(this IArtifactStore store, string path, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.WriteAsync(path, BinaryData.FromString(text), cancellationToken);
    }

    /// <summary>Uploads every file of a local folder under <paramref name="prefix"/>; returns the paths written.</summary>
    public static async Task<IReadOnlyList<string>> UploadDirectoryAsync(this IArtifactStore store, string localDirectory, string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var written = new List<string>();
        foreach (var file in Directory.EnumerateFiles(localDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(localDirectory, file).Replace('\\', '/');
            string path = BlobLayout.Combine(prefix, relative);
            await store.WriteAsync(path, BinaryData.FromBytes(await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
            written.Add(path);
        }
        return written;
    }

    /// <summary>Downloads every artifact under <paramref name="prefix"/> into a local folder; returns the count.</summary>
    public static async Task<int> DownloadDirectoryAsync(this IArtifactStore store, string prefix, string localDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        string normalized = prefix.TrimEnd('/') + "/";
        int count = 0;
        foreach (var path in await store.ListAsync(normalized, cancellationToken).ConfigureAwait(false))
        {
            var artifact = await store.ReadAsync(path, cancellationToken).ConfigureAwait(false);
            if (artifact == null) continue;
            string target = Path.Combine(localDirectory, path[normalized.Length..].Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await File.WriteAllBytesAsync(target, artifact.Content.ToArray(), cancellationToken).ConfigureAwait(false);
            count++;
        }
        return count;
    }
}
