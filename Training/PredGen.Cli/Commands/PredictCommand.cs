using System.CommandLine;
using System.Text.Json;
using PredGen.Cli.Serving;
using PredGen.Shared.Configuration;
using PredGen.Shared.Data;
using PredGen.Shared.Predictions;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Commands;

/// <summary>
/// `predgen predict`: one JSON object per input, in input order. The inputs come from --text or --input (JSONL with
/// "text", optional "text_b" and "id"); where they go is the local model (--model) or, with --queue, a running
/// `predgen serve` worker (Serving/QueuePredict), reading and writing through the same <see cref="ReadInputs"/> and
/// <see cref="PredictionLine"/>.
/// </summary>
public sealed class PredictCommand : ICliCommand
{
    public string Parent => "";

    public Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "fine-tuned model folder (<out>/model of predgen train)" };
        var text = new Option<string?>("--text") { Description = "one input text" };
        var textB = new Option<string?>("--text-b") { Description = "second text of a pair (with --text)" };
        var input = new Option<FileInfo?>("--input") { Description = "JSONL file: {\"id\"?, \"text\", \"text_b\"?} per line" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32 };
        var noText = new Option<bool>("--no-text") { Description = "leave out the generated text" };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "cpu" };
        var queue = new Option<string?>("--queue") { Description = "instead of --model: send to this request queue of a `predgen serve` worker and wait for the replies" };
        var transport = new Option<string>("--transport") { Description = "with --queue: storage-queue or service-bus", DefaultValueFactory = _ => ServingOptions.StorageQueueTransport };
        transport.AcceptOnlyFromAmong(ServingOptions.StorageQueueTransport, ServingOptions.ServiceBusTransport);
        var task = new Option<string?>("--task") { Description = "with --queue: the task the worker serves (default: setting Serving:Task)" };
        var queues = new Option<string?>("--queues") { Description = "with --queue: storage queues connection string or endpoint (default: setting StorageQueues, or Storage when it is a connection string)" };
        var serviceBus = new Option<string?>("--service-bus-namespace") { Description = "with --queue --transport service-bus: {namespace}.servicebus.windows.net" };
        var replyQueue = new Option<string?>("--reply-queue") { Description = "with --queue: reply queue (storage: a private one by default; Service Bus: prediction-replies)" };
        var timeout = new Option<double>("--timeout-seconds") { Description = "with --queue: how long to wait for each reply", DefaultValueFactory = _ => 60 };
        var command = new Command("predict", "Predict with a fine-tuned model (--model) or through a serving queue (--queue): one JSON object per input (prediction, probability or value, generated text).")
        {
            model, text, textB, input, batch, noText, device, queue, transport, task, queues, serviceBus, replyQueue, timeout,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(text) == null) == (result.GetValue(input) == null))
                result.AddError("give exactly one of --text and --input");
        });
        command.Validators.Add(result =>
        {
            if ((result.GetValue(model) == null) == (result.GetValue(queue) == null))
                result.AddError("give exactly one of --model (local model) and --queue (serving worker)");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inputs = ReadInputs(parse.GetValue(text), parse.GetValue(textB), parse.GetValue(input)?.FullName);
            if (parse.GetValue(queue) is string queueName)
            {
                string? storageQueues = parse.GetValue(queues) ?? Setting(SettingNames.StorageQueues);
                string? storage = Setting(SettingNames.Storage);
                if (storageQueues == null && storage != null && StorageQueueClients.IsConnectionString(storage)) storageQueues = storage;
                var target = new QueuePredictTarget(parse.GetValue(transport)!,
                    parse.GetValue(task) ?? Setting(SettingNames.ServingTask) ?? throw new ArgumentException("--task is required with --queue"),
                    queueName, storageQueues, parse.GetValue(serviceBus) ?? Setting(SettingNames.ServiceBusNamespace), parse.GetValue(replyQueue),
                    TimeSpan.FromSeconds(parse.GetValue(timeout)), ReturnProbabilities: true, ReturnText: !parse.GetValue(noText));
                return await QueuePredict.RunAsync(target, inputs, Console.Out, cancellationToken).ConfigureAwait(false);
            }
            var modelDir = parse.GetValue(model) ?? throw new ArgumentException("--model is required for local prediction");
            PredictLocally(modelDir.FullName, new TorchOptions { Device = parse.GetValue(device)! }, inputs,
                parse.GetValue(batch), !parse.GetValue(noText), Console.Out);
            return 0;
        });
        return command;
    }

    private static string? Setting(string key) => Environment.GetEnvironmentVariable(SettingNames.AsEnvironmentVariable(key));

    public static IReadOnlyList<(string? Id, TextInput Input)> ReadInputs(string? text, string? textB, string? path)
    {
        if (text != null) return [(null, new TextInput(text, textB))];
        var inputs = new List<(string?, TextInput)>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path!))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            string t = root.TryGetProperty("text", out var tv) && tv.ValueKind == JsonValueKind.String
                ? tv.GetString()! : throw new FormatException($"{path}:{lineNumber}: field 'text' is missing or not a string");
            string? b = root.TryGetProperty("text_b", out var bv) && bv.ValueKind == JsonValueKind.String ? bv.GetString() : null;
            string? id = root.TryGetProperty("id", out var iv) ? iv.ToString() : null;
            inputs.Add((id, new TextInput(t, b)));
        }
        return inputs;
    }

    public static void PredictLocally(string modelDirectory, TorchOptions torch, IReadOnlyList<(string? Id, TextInput Input)> inputs,
        int batchSize, bool withText, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(output);
        using var trained = TrainedModel.Load(modelDirectory, torch);
        for (int i = 0; i < inputs.Count; i += batchSize)
        {
            var chunk = inputs.Skip(i).Take(batchSize).ToList();
            var predictions = trained.Predict([.. chunk.Select(c => c.Input)], withProbabilities: true, withText: withText);
            for (int k = 0; k < chunk.Count; k++) output.WriteLine(PredictionLine(chunk[k].Id, predictions[k], trained.Card.TaskKind));
        }
    }

    /// <summary>{"id"?, "prediction", "label" + "probability"? + "probabilities"? | "value", "generated_text"?}</summary>
    public static string PredictionLine(string? id, Prediction prediction, TaskKind kind)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (id != null) w.WriteString("id", id);
            if (kind == TaskKind.Classification)
            {
                w.WriteString("prediction", prediction.Label);
                w.WriteString("label", prediction.Label);
                if (prediction.Probability is double p) w.WriteNumber("probability", p);
                if (prediction.Probabilities != null)
                {
                    w.WriteStartObject("probabilities");
                    foreach (var (label, q) in prediction.Probabilities) w.WriteNumber(label, q);
                    w.WriteEndObject();
                }
            }
            else
            {
                w.WriteNumber("prediction", prediction.Value ?? double.NaN);
                w.WriteNumber("value", prediction.Value ?? double.NaN);
            }
            if (prediction.GeneratedText != null) w.WriteString("generated_text", prediction.GeneratedText);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
