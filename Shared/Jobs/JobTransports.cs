using Azure.Core;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Queues;

namespace PredGen.Shared.Jobs;

/// <summary>Opens queues from settings: a connection string (Azurite, local) or a queue service URL with managed identity.</summary>
public static class JobQueues
{
    /// <summary>Storage queue client; base64 messages (what the Functions queue trigger reads); Azurite-compatible
    /// service version when the connection string points at Azurite (shared/PLATFORM.md).</summary>
    public static QueueClient StorageQueue(string connectionOrUri, string queueName, TokenCredential? credential = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionOrUri);
        bool azurite = connectionOrUri.Contains("devstoreaccount1", StringComparison.Ordinal) || connectionOrUri.Contains("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase);
        var options = azurite ? new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06) : new QueueClientOptions();
        options.MessageEncoding = QueueMessageEncoding.Base64;
        if (Uri.TryCreate(connectionOrUri, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) && !connectionOrUri.Contains('=', StringComparison.Ordinal))
        {
            var service = new QueueServiceClient(uri, credential ?? new Azure.Identity.DefaultAzureCredential(), options);
            return service.GetQueueClient(queueName);
        }
        return new QueueClient(connectionOrUri, queueName, options);
    }

    public static ServiceBusClient ServiceBus(string fullyQualifiedNamespace, TokenCredential? credential = null) =>
        new(fullyQualifiedNamespace, credential ?? new Azure.Identity.DefaultAzureCredential());
}
