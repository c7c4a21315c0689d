using System.Text.Json;
using System.Text.Json.Nodes;
using PredGen.Cli.Commands;
using PredGen.Shared.Data;
using PredGen.Training.Methods;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using PredGen.Shared.Predictions;

namespace PredGen.Cli.Serving;

/// <summary>What `predgen predict --queue` needs to reach a worker.</summary>
public sealed record QueuePredictTarget(
    string Transport, string Task, string RequestQueue, string? StorageQueues, string? ServiceBusNamespace,
    string? ReplyQueue, TimeSpan Timeout, bool ReturnProbabilities, bool ReturnText);

/// <summary>`predgen predict --queue`: sends each input as a request, waits for the replies, prints one JSON object per input
/// (the local prediction line plus request_id and model; or id, request_id, error, error_detail).</summary>
public static class QueuePredict
{
    public static async Task<int> RunAsync(QueuePredictTarget target, IReadOnlyList<(string? Id, TextInput Input)> inputs, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(output);
        await using var client = CreateClient(target);
        var pending = inputs.Select(i => client.PredictAsync(target.Task, i.Input.Text, i.Input.TextB, target.ReturnProbabilities, target.ReturnText, target.Timeout, cancellationToken)).ToList();
        int failed = 0;
        for (int k = 0; k < pending.Count; k++)
        {
            string? id = inputs[k].Id;
            PredictionReply reply;
            try
            {
                reply = await pending[k].ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                await output.WriteLineAsync(ErrorLine(id, null, "timeout", e.Message)).ConfigureAwait(false);
                failed++;
                continue;
            }
            if (!reply.IsSuccess)
            {
                await output.WriteLineAsync(ErrorLine(id, reply.RequestId, reply.Error!, reply.ErrorDetail)).ConfigureAwait(false);
                failed++;
                continue;
            }
            // The same line as a local prediction, plus which request and model answered.
            var prediction = new Prediction(reply.Label, reply.Value, reply.Probabilities, reply.GeneratedText);
            var line = JsonNode.Parse(PredictCommand.PredictionLine(id, prediction, reply.Label != null ? TaskKind.Classification : TaskKind.Regression))!.AsObject();
            line["request_id"] = reply.RequestId;
            if (reply.Model != null) line["model"] = JsonSerializer.SerializeToNode(reply.Model, PredictionSchema.JsonOptions);
            await output.WriteLineAsync(line.ToJsonString()).ConfigureAwait(false);
        }
        return failed == 0 ? 0 : 1;
    }

    private static string ErrorLine(string? id, string? requestId, string error, string? detail)
    {
        var line = new JsonObject();
        if (id != null) line["id"] = id;
        if (requestId != null) line["request_id"] = requestId;
        line["error"] = error;
        if (detail != null) line["error_detail"] = detail;
        return line.ToJsonString();
    }

    private static IPredictionClient CreateClient(QueuePredictTarget t)
    {
        if (t.Transport == ServingOptions.ServiceBusTransport)
        {
            if (string.IsNullOrEmpty(t.ServiceBusNamespace)) throw new InvalidOperationException("--service-bus-namespace is required for --transport service-bus");
            var sb = new ServiceBusClient(t.ServiceBusNamespace, new DefaultAzureCredential());
            return new ServiceBusPredictionClient(sb, t.RequestQueue, t.ReplyQueue ?? "prediction-replies");
        }
        if (string.IsNullOrEmpty(t.StorageQueues)) throw new InvalidOperationException("--queues (or setting StorageQueues) is required for --transport storage-queue");
        var queues = StorageQueueClients.Create(t.StorageQueues);
        return new StorageQueuePredictionClient(queues, t.RequestQueue, t.ReplyQueue);
    }
}
