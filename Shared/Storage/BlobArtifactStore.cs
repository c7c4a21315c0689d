using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

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
