using PredGen.Shared.Configuration;
using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using PredGen.Cli.Serving;

namespace PredGen.Cli.Commands;

/// <summary>`predgen serve`: the queue-fed prediction worker for one task's champion model (Serving/).</summary>
public sealed class ServeCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var transport = new Option<string>("--transport") { Description = "storage-queue (local, Azurite) or service-bus (Azure)" };
        transport.AcceptOnlyFromAmong(ServingOptions.StorageQueueTransport, ServingOptions.ServiceBusTransport);
        var task = new Option<string>("--task") { Description = "the task whose champion (models/{task}/champion.json) to serve" };
        var storage = new Option<string>("--storage") { Description = "artifact store: folder, connection string or blob service URL (setting Storage)" };
        var queues = new Option<string>("--queues") { Description = "storage queues: connection string or https://{account}.queue.core.windows.net (setting StorageQueues; default: --storage when it is a connection string)" };
        var serviceBus = new Option<string>("--service-bus-namespace") { Description = "Service Bus: fully qualified namespace (managed identity)" };
        var requestQueue = new Option<string>("--request-queue") { Description = "queue to take requests from (default prediction-requests)" };
        var replyQueue = new Option<string>("--reply-queue") { Description = "replies when a request names no queue (default prediction-replies)" };
        var maxBatch = new Option<int?>("--max-batch-size") { Description = "dynamic batching: largest batch (default 8)" };
        var maxWait = new Option<int?>("--max-wait-ms") { Description = "dynamic batching: longest wait for a batch to fill (default 10 ms)" };
        var maxDequeue = new Option<int?>("--max-dequeue") { Description = "deliveries before a message is poisoned / dead-lettered (default 5)" };
        var maxText = new Option<int?>("--max-text-length") { Description = "longest text + text_b accepted (default 2048)" };
        var poll = new Option<double?>("--champion-poll-seconds") { Description = "how often to look for a new champion (default 10)" };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto (setting Torch:Device)" };
        var consoleMetrics = new Option<bool>("--console-metrics") { Description = "print the OpenTelemetry metrics to the console" };
        var command = new Command("serve", "Answer prediction requests from a queue with the task's champion model: dynamic batching, replies, " +
            "result blobs keyed by request id, poison / dead-letter queues for bad input, hot reload when the champion changes.")
        {
            transport, task, storage, queues, serviceBus, requestQueue, replyQueue, maxBatch, maxWait, maxDequeue, maxText, poll, device, consoleMetrics,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
            void Put(string key, string? value) { if (!string.IsNullOrEmpty(value)) settings[key] = value; }
            Put(SettingNames.ServingTransport, parse.GetValue(transport));
            Put(SettingNames.ServingTask, parse.GetValue(task));
            Put(SettingNames.Storage, parse.GetValue(storage));
            Put(SettingNames.StorageQueues, parse.GetValue(queues));
            Put(SettingNames.ServiceBusNamespace, parse.GetValue(serviceBus));
            Put(SettingNames.ServingRequestsQueue, parse.GetValue(requestQueue));
            Put(SettingNames.ServingRepliesQueue, parse.GetValue(replyQueue));
            Put(SettingNames.ServingMaxBatchSize, parse.GetValue(maxBatch)?.ToString(CultureInfo.InvariantCulture));
            Put(SettingNames.ServingMaxBatchWaitMs, parse.GetValue(maxWait)?.ToString(CultureInfo.InvariantCulture));
            Put(SettingNames.ServingMaxDequeueCount, parse.GetValue(maxDequeue)?.ToString(CultureInfo.InvariantCulture));
            Put(SettingNames.ServingMaxTextLength, parse.GetValue(maxText)?.ToString(CultureInfo.InvariantCulture));
            Put(SettingNames.ServingChampionPollSeconds, parse.GetValue(poll)?.ToString(CultureInfo.InvariantCulture));
            Put(SettingNames.TorchDevice, parse.GetValue(device));
            if (parse.GetValue(consoleMetrics)) settings[SettingNames.ServingConsoleMetrics] = "true";
            using var host = ServingHost.Build(settings);
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
