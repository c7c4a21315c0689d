using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PredGen.Cli.Serving.Benchmark;

namespace PredGen.Cli.Commands;

/// <summary>`predgen bench serve`: the prediction worker's throughput and latency per batch limit, next to the model's own.</summary>
public sealed class ServeBenchCommand : ICliCommand
{
    public string Parent => "bench";

    public Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var model = new Option<string?>("--model") { Description = "fine-tuned model folder to serve (default: fine-tune PredGen quickly on models/base)" };
        var baseModel = new Option<string?>("--base") { Description = "base checkpoint for the quick fine-tune (default: models/base of the repository)" };
        var steps = new Option<int>("--fine-tune-steps") { DefaultValueFactory = _ => 40, Description = "steps of the quick fine-tune" };
        var limits = new Option<string>("--batch-limits") { DefaultValueFactory = _ => "1,8,32", Description = "comma-separated max batch sizes" };
        var wait = new Option<int>("--max-wait-ms") { DefaultValueFactory = _ => 10, Description = "dynamic batching wait limit" };
        var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 6, Description = "seconds per measured phase" };
        var queues = new Option<string?>("--queues") { Description = "storage connection string (default: start Azurite from tests/node_modules)" };
        var receivers = new Option<int>("--receivers") { DefaultValueFactory = _ => new Serving.ServingOptions().Receivers, Description = "receive calls the worker keeps in flight (Serving:Receivers)" };
        var transport = new Option<string>("--transport") { DefaultValueFactory = _ => Serving.ServingOptions.StorageQueueTransport, Description = "storage-queue (Azurite or --queues) or service-bus (--service-bus-namespace; --queues names the storage account for result blobs)" };
        var serviceBusNamespace = new Option<string?>("--service-bus-namespace") { Description = "service-bus: the namespace (ns.servicebus.windows.net), reached with DefaultAzureCredential" };
        var requestsQueue = new Option<string>("--requests-queue") { DefaultValueFactory = _ => "prediction-requests", Description = "service-bus: the existing requests queue" };
        var repliesQueue = new Option<string>("--replies-queue") { DefaultValueFactory = _ => "prediction-replies", Description = "service-bus: the existing session-enabled replies queue" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 1, Description = "libtorch intra-op threads for model and worker (0: one per core)" };
        var command = new Command("serve", "Prediction worker on storage queues: requests/s and p50/p99 latency per batch limit at saturation and half load, " +
            "next to the model's own batched throughput; KV-cache decoding vs recomputation; label scoring vs generation.")
        {
            json, model, baseModel, steps, limits, wait, seconds, queues, threads, receivers, transport, serviceBusNamespace, requestsQueue, repliesQueue,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new ServeBenchOptions
            {
                Model = parse.GetValue(model), BaseModel = parse.GetValue(baseModel), FineTuneSteps = parse.GetValue(steps),
                BatchLimits = [.. parse.GetValue(limits)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))],
                MaxWaitMs = parse.GetValue(wait), SecondsPerPhase = parse.GetValue(seconds), Queues = parse.GetValue(queues), Threads = parse.GetValue(threads),
                Receivers = parse.GetValue(receivers), Transport = parse.GetValue(transport)!, ServiceBusNamespace = parse.GetValue(serviceBusNamespace),
                RequestsQueue = parse.GetValue(requestsQueue)!, RepliesQueue = parse.GetValue(repliesQueue)!,
            };
            var result = await ServingBenchmark.RunAsync(options, Console.Error, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, CliJson.Options));
                return 0;
            }
            Console.WriteLine($"model: {result.Model} ({result.Method}, base {result.BaseModel}); {result.Machine}");
            foreach (var m in result.ModelThroughput) Console.WriteLine($"  model alone, batch {m.BatchSize,2}: {m.RowsPerSecond,8:F1} rows/s ({m.BatchMs:F1} ms/batch)");
            foreach (var s in result.Serving)
            {
                Console.WriteLine($"  serve, batch <= {s.MaxBatchSize,2}: saturation {s.Saturation.RequestsPerSecond:F1} req/s ({s.Efficiency:P0} of model), " +
                    $"p50 {s.Saturation.P50Ms:F0} ms p99 {s.Saturation.P99Ms:F0} ms; half load p50 {s.HalfLoad.P50Ms:F0} ms p99 {s.HalfLoad.P99Ms:F0} ms (target {s.P99TargetMs:F0})");
            }
            Console.WriteLine($"  KV cache: {result.KvCache.Speedup:F2}x over recomputation ({result.KvCache.NewTokens} tokens, batch {result.KvCache.Batch})");
            Console.WriteLine($"  label scoring: {result.LabelScoring.Speedup:F2}x over constrained generation (batch {result.LabelScoring.Batch})");
            return 0;
        });
        return command;
    }
}
