using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace PredGen.Shared.Storage;

/// <summary>Artifacts in Azure Blob Storage (or Azurite): the first path segment is the container.</summary>
public sealed class BlobArtifactStore : IArtifactStore
{
    private readonly BlobServiceClient _service;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task>> _created = new(StringComparer.Ordinal);

    public BlobArtifactStore(BlobServiceClient service) => _service = service ?? throw new ArgumentNullException(nameof(service));

    public string Location => _service.Uri.ToString();

    private async Task<BlobClient> BlobAsync(string path, bool create, CancellationToken cancellationToken)
    {
        var (container, name) = BlobLayout.Split(path);
        var containerClient = _service.GetBlobContainerClient(container);
        if (create)
        {
            var creation = _created.GetOrAdd(container, _ => new Lazy<Task>(() => containerClient.CreateIfNotExistsAsync()));
            try
            {
                await creation.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Azure.RequestFailedException)
            {
                _created.TryRemove(container, out _);
                throw;
            }
        }
        return containerClient.GetBlobClient(name);
    }

    public async Task WriteAsync(string path, BinaryData content, CancellationToken cancellationToken = default)
    {
        var blob = await BlobAsync(path, create: true, cancellationToken).ConfigureAwait(false);
        await blob.UploadAsync(content, overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> WriteIfMatchAsync(string path, BinaryData content, string? expectedETag, CancellationToken cancellationToken = default)
    {
        var blob = await BlobAsync(path, create: true, cancellationToken).ConfigureAwait(false);
        var conditions = expectedETag == null
            ? new BlobRequestConditions { IfNoneMatch = ETag.All }
            : new BlobRequestConditions { IfMatch = new ETag(expectedETag) };
        try
        {
            var response = await blob.UploadAsync(content, new BlobUploadOptions { Conditions = conditions }, cancellationToken).ConfigureAwait(false);
            return response.Value.ETag.ToString();
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            throw new ArtifactConflictException(path, expectedETag);
        }
    }

    public async Task<StoredArtifact?> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = await BlobAsync(path, create: false, cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return new StoredArtifact(response.Value.Content, response.Value.Details.ETag.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = await BlobAsync(path, create: false, cancellationToken).ConfigureAwait(false);
        try
        {
            // Downloads in ranges as the caller reads; the blob never sits in memory whole.
            return await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<PinnedRead?> OpenReadPinnedAsync(string path, string? ifMatch, CancellationToken cancellationToken = default)
    {
        var blob = await BlobAsync(path, create: false, cancellationToken).ConfigureAwait(false);
        try
        {
            var properties = await blob.GetPropertiesAsync(ifMatch == null ? null : new BlobRequestConditions { IfMatch = new ETag(ifMatch) }, cancellationToken).ConfigureAwait(false);
            var version = properties.Value.ETag;
            // Every range read carries If-Match: an overwrite mid-read fails the read instead of splicing versions.
            var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { Conditions = new BlobRequestConditions { IfMatch = version } },
                cancellationToken).ConfigureAwait(false);
            return new PinnedRead(stream, version.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404 && ifMatch == null)
        {
            return null;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            throw new ArtifactConflictException(path, ifMatch);
        }
    }

    public async Task<ArtifactWriteStream> OpenWriteAsync(string path, CancellationToken cancellationToken = default)
    {
        await BlobAsync(path, create: true, cancellationToken).ConfigureAwait(false);
        var (container, name) = BlobLayout.Split(path);
        return new BlockWriter(_service.GetBlobContainerClient(container).GetBlockBlobClient(name));
    }

    /// <summary>
    /// Stages a block every <see cref="BlockSize"/> bytes as they are written and commits the block list on commit: the
    /// writer holds one block, never the artifact. Staged blocks that are never committed are invisible and the service
    /// discards them (after a week), so an abandoned write leaves the previous version as it was.
    /// </summary>
    private sealed class BlockWriter(BlockBlobClient blob) : ArtifactWriteStream
    {
        public const int BlockSize = 4 * 1024 * 1024;
        private readonly List<string> _blocks = [];
        private readonly string _prefix = Guid.NewGuid().ToString("N");
        private byte[] _buffer = new byte[BlockSize];
        private int _filled;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (buffer.Length > 0)
            {
                int n = Math.Min(buffer.Length, BlockSize - _filled);
                buffer[..n].CopyTo(_buffer.AsSpan(_filled));
                _filled += n;
                buffer = buffer[n..];
                if (_filled == BlockSize) Stage(null).GetAwaiter().GetResult();
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (buffer.Length > 0)
            {
                int n = Math.Min(buffer.Length, BlockSize - _filled);
                buffer[..n].CopyTo(_buffer.AsMemory(_filled));
                _filled += n;
                buffer = buffer[n..];
                if (_filled == BlockSize) await Stage(cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Stages the buffer; synchronously when <paramref name="cancellationToken"/> is null (a sync Write).</summary>
        private async Task Stage(CancellationToken? cancellationToken)
        {
            string id = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(_prefix + _blocks.Count.ToString("D8", System.Globalization.CultureInfo.InvariantCulture)));
            using var content = new MemoryStream(_buffer, 0, _filled, writable: false);
            if (cancellationToken is CancellationToken ct) await blob.StageBlockAsync(id, content, cancellationToken: ct).ConfigureAwait(false);
            else blob.StageBlock(id, content);
            _blocks.Add(id);
            _filled = 0;
        }

        public override async Task CommitAsync(CancellationToken cancellationToken = default)
        {
            if (_filled > 0) await Stage(cancellationToken).ConfigureAwait(false); // none at all: an empty list commits an empty blob
            await blob.CommitBlockListAsync(_blocks, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _buffer = [];
            base.Dispose(disposing);
        }
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = await BlobAsync(path, create: false, cancellationToken).ConfigureAwait(false);
        try
        {
            return (await blob.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        string normalized = prefix.TrimStart('/');
        int slash = normalized.IndexOf('/', StringComparison.Ordinal);
        string container = slash < 0 ? normalized : normalized[..slash];
        string namePrefix = slash < 0 ? "" : normalized[(slash + 1)..];
        var client = _service.GetBlobContainerClient(container);
        var result = new List<string>();
        try
        {
            await foreach (var item in client.GetBlobsAsync(new GetBlobsOptions { Prefix = namePrefix }, cancellationToken).ConfigureAwait(false))
                result.Add(container + "/" + item.Name);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return [];
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    public async Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = await BlobAsync(path, create: false, cancellationToken).ConfigureAwait(false);
        await blob.DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Blob client options that Azurite 3.37 accepts (it rejects service versions newer than 2026-06-06).</summary>
    public static BlobClientOptions AzuriteCompatibleOptions() => new(BlobClientOptions.ServiceVersion.V2026_06_06);

    internal static TokenCredential DefaultCredential(string? managedIdentityClientId) =>
        new Azure.Identity.DefaultAzureCredential(new Azure.Identity.DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId });
}
