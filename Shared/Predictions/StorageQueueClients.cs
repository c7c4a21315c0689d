using Azure.Identity;
using Azure.Storage.Queues;

namespace PredGen.Shared.Predictions;

public static class StorageQueueClients
{
    /// <summary>
    /// The queue service named by one setting (SettingNames.StorageQueues): a connection string (Azurite, local) or the
    /// queue endpoint https://{account}.queue.core.windows.net authenticated with managed identity (Azure). Against
    /// Azurite the client is pinned to a service version Azurite 3.37 accepts (shared/PLATFORM.md).
    /// </summary>
    public static QueueServiceClient Create(string connectionStringOrUri, string? managedIdentityClientId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionStringOrUri);
        if (IsConnectionString(connectionStringOrUri))
        {
            bool azurite = connectionStringOrUri.Contains("devstoreaccount1", StringComparison.Ordinal)
                || connectionStringOrUri.Contains("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase);
            return new QueueServiceClient(connectionStringOrUri,
                azurite ? new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06) : new QueueClientOptions());
        }
        if (!Uri.TryCreate(connectionStringOrUri, UriKind.Absolute, out var uri))
            throw new ArgumentException($"'{connectionStringOrUri}' is neither a storage connection string nor a queue endpoint URL.", nameof(connectionStringOrUri));
        return new QueueServiceClient(uri, new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId }));
    }

    public static bool IsConnectionString(string value) =>
        value != null && (value.Contains("AccountName=", StringComparison.OrdinalIgnoreCase) || value.Contains("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase));
}
