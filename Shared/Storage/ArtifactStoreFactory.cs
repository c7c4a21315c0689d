using Azure.Storage.Blobs;

namespace PredGen.Shared.Storage;

/// <summary>
/// Opens the artifact store named by one setting ("Storage" / --storage):
/// a folder path; a connection string (Azurite's well-known development string, or an account's); or a blob
/// service URL (https://account.blob.core.windows.net), authenticated with managed identity / DefaultAzureCredential.
/// </summary>
public static class ArtifactStoreFactory
{
    public static IArtifactStore Create(string storage, string? managedIdentityClientId = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storage);
        if (storage.Contains("AccountName=", StringComparison.OrdinalIgnoreCase) || storage.Contains("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase))
        {
            bool azurite = storage.Contains("devstoreaccount1", StringComparison.Ordinal) || storage.Contains("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase);
            var options = azurite ? BlobArtifactStore.AzuriteCompatibleOptions() : new BlobClientOptions();
            return new BlobArtifactStore(new BlobServiceClient(storage, options));
        }
        if (Uri.TryCreate(storage, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
            return new BlobArtifactStore(new BlobServiceClient(uri, BlobArtifactStore.DefaultCredential(managedIdentityClientId)));
        return new FileSystemArtifactStore(storage);
    }
}
