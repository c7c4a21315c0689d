using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Configuration;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Functions;

/// <summary>
/// A file landing in datasets/{task}/... starts Retrain. Event Grid source: the storage account's system topic pushes
/// BlobCreated (no polling of the container, fast on Flex Consumption). Event Grid delivers at least once; the
/// instance id derived from the content hash makes a duplicate delivery start nothing.
/// </summary>
public sealed partial class DatasetTrigger(RetrainDefaults defaults, ILogger<DatasetTrigger> logger)
{
    /// <summary>The storage connection of the triggers: the Functions host's account (AzureWebJobsStorage; identity-based
    /// in Azure: AzureWebJobsStorage__blobServiceUri / __queueServiceUri / __credential / __clientId).</summary>
    public const string Connection = SettingNames.FunctionsStorageConnection;

    /// <summary>infra/main.bicep names this function in the Event Grid subscription's webhook (an infra test checks it).</summary>
    [Function(nameof(DatasetUploaded))]
    public async Task<RetrainStart?> DatasetUploaded(
        [BlobTrigger(BlobLayout.DatasetsContainer + "/{task}/{name}", Source = BlobTriggerSource.EventGrid, Connection = Connection)] Stream content,
        string task,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!IsTaskName(task))
        {
            LogIgnored(logger, task, name);
            return null; // not retried: the name will not become valid
        }
        string runId = await RetrainStarter.RunIdOfAsync(content, cancellationToken).ConfigureAwait(false);
        var request = defaults.ToRequest(task, BlobLayout.Dataset(task, name), runId);
        var start = await RetrainStarter.StartAsync(client, request, cancellationToken).ConfigureAwait(false);
        LogStart(logger, name, task, start.InstanceId, start.Started);
        return start;
    }

    internal static bool IsTaskName(string task)
    {
        try
        {
            BlobLayout.Segment(task, nameof(task));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored datasets/{Task}/{Name}: the task name must be lower-case letters, digits, '-', '_' or '.'")]
    private static partial void LogIgnored(ILogger logger, string task, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset {Name} of task {Task}: instance {InstanceId}, started now: {Started}")]
    private static partial void LogStart(ILogger logger, string name, string task, string instanceId, bool started);
}
