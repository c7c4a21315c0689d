using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using PredGen.Shared.Data;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Functions;

/// <summary>Body of POST /api/runs: a file already in datasets/{task}/ and optional overrides.</summary>
public sealed record StartRunBody(string Task, string Dataset, TaskKind? Kind = null, IReadOnlyList<string>? Methods = null, int? Seeds = null, int? Steps = null);

/// <summary>A run as the API shows it.</summary>
public sealed record RunView(string InstanceId, string RuntimeStatus, RetrainStatus? Progress, DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt,
    string? Failure, RetrainResult? Result);

/// <summary>HTTP: start a run, retry a failed one, get its status, list runs, get its report link. Function-key protected.</summary>
public sealed class RunsApi(IArtifactStore store, RetrainDefaults defaults)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // "kind": "regression" (any casing), as the docs and the CLI write it; integers are not accepted as kinds.
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>The most seeds a run may ask for: each seed trains every method once more.</summary>
    public const int MaxSeeds = 10;

    /// <summary>The most optimizer steps a job may ask for.</summary>
    public const int MaxSteps = 1_000_000;

    /// <summary>POST /api/runs: 202 started, 200 the same file's run already exists, 400 a bad field (named in "error"),
    /// 404 no such dataset.</summary>
    [Function(nameof(StartRun))]
    public async Task<IActionResult> StartRun([HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs")] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        StartRunBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<StartRunBody>(request.Body, Json, request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return BadRequest(FieldOf(e.Path), FieldOf(e.Path) switch
            {
                "kind" => "must be \"classification\" or \"regression\"",
                "body" => "must be JSON {task, dataset, kind?, methods?, seeds?, steps?}: " + e.Message,
                _ => "has the wrong type: " + e.Message,
            });
        }
        if (body == null) return BadRequest("body", "must be a JSON object {task, dataset, kind?, methods?, seeds?, steps?}");
        if (!DatasetTrigger.IsTaskName(body.Task ?? ""))
            return BadRequest("task", "is required: lower-case letters, digits, '-', '_', '.'");
        if (string.IsNullOrWhiteSpace(body.Dataset)) return BadRequest("dataset", "is required: a file name in datasets/{task}/ or a datasets/ path");
        if (body.Seeds is int seeds && seeds is < 1 or > MaxSeeds) return BadRequest("seeds", $"must be from 1 to {MaxSeeds} (got {seeds})");
        if (body.Steps is int steps && steps is < 1 or > MaxSteps) return BadRequest("steps", $"must be from 1 to {MaxSteps} (got {steps})");
        IReadOnlyList<string> methods;
        try
        {
            methods = body.Methods is { Count: > 0 } m ? [.. m.Select(x => Methods.Canonical(x ?? "null")).Distinct()] : defaults.Methods;
        }
        catch (ArgumentException e)
        {
            int cut = e.Message.IndexOf(" (Parameter", StringComparison.Ordinal);
            return BadRequest("methods", cut >= 0 ? e.Message[..cut] : e.Message);
        }
        string path = body.Dataset.StartsWith(BlobLayout.DatasetsContainer + "/", StringComparison.Ordinal) ? body.Dataset : BlobLayout.Dataset(body.Task!, body.Dataset);
        string runId;
        try
        {
            runId = await RetrainStarter.RunIdOfAsync(store, path, request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (FileNotFoundException e)
        {
            return Respond(StatusCodes.Status404NotFound, new { error = e.Message });
        }
        catch (ArgumentException e)
        {
            return BadRequest("dataset", e.Message); // not a valid artifact path
        }
        var retrain = defaults.ToRequest(body.Task!, path, runId) with
        {
            Kind = body.Kind,
            Methods = methods,
            Seeds = body.Seeds ?? defaults.Seeds,
            Training = body.Steps is int s ? defaults.Training with { Steps = s } : defaults.Training,
        };
        var start = await RetrainStarter.StartAsync(client, retrain, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return Respond(start.Started ? StatusCodes.Status202Accepted : StatusCodes.Status200OK, start);
    }

    private static JsonResult BadRequest(string field, string problem) => Respond(StatusCodes.Status400BadRequest, new { error = field + ": " + problem, field });

    /// <summary>Every body in snake_case, as documented (docs/DEPLOY.md): an ObjectResult would go through the host's
    /// MVC serializer, which writes camelCase ("instanceId").</summary>
    private static JsonResult Respond(int status, object value) => new(value, Json) { StatusCode = status };

    /// <summary>"$.kind" -> "kind", "$.methods[1]" -> "methods"; the body itself when the path names no field.</summary>
    private static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return "body";
        string field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;
        int end = field.IndexOfAny(['.', '[']);
        return end > 0 ? field[..end] : field;
    }

    /// <summary>POST /api/runs/{instanceId}/retry: a Failed or Terminated run starts again on the same content (an
    /// upload of the same bytes never does: the instance id is the content hash). 202 restarted, 404 no such run,
    /// 409 not failed (or its jobs still run).</summary>
    [Function(nameof(RetryRun))]
    public async Task<IActionResult> RetryRun([HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{instanceId}/retry")] HttpRequest request,
        string instanceId, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        var retry = await RetrainStarter.RetryFailedAsync(client, store, instanceId, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (retry == null) return new NotFoundResult();
        return Respond(retry.Restarted ? StatusCodes.Status202Accepted : StatusCodes.Status409Conflict, retry);
    }

    [Function(nameof(GetRun))]
    public static async Task<IActionResult> GetRun([HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{instanceId}")] HttpRequest request,
        string instanceId, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return instance == null ? new NotFoundResult() : Respond(StatusCodes.Status200OK, View(instance, withResult: true));
    }

    [Function(nameof(ListRuns))]
    public static async Task<IActionResult> ListRuns([HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs")] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        string? task = request.Query["task"];
        if (task != null && !DatasetTrigger.IsTaskName(task)) return BadRequest("task", "lower-case letters, digits, '-', '_', '.'");
        // Instance ids are "retrain-{task}-{runId}" and run ids are hex (no '-'): the prefix of task "spam" also matches
        // "retrain-spam-2-...", so what follows it must be a run id alone. Inputs are fetched for the progress column.
        string prefix = task == null ? "retrain-" : RetrainRequest.InstanceIdFor(task, "");
        var query = new OrchestrationQuery { InstanceIdPrefix = prefix, FetchInputsAndOutputs = true, PageSize = 100 };
        var runs = new List<RunView>();
        await foreach (var instance in client.GetAllInstancesAsync(query).ConfigureAwait(false))
        {
            if (instance.Name != nameof(RetrainOrchestration)) continue;
            if (task != null && instance.InstanceId.AsSpan(prefix.Length).IndexOfAny('-', ':') >= 0) continue;
            runs.Add(View(instance, withResult: false));
            if (runs.Count >= 500) break;
        }
        return Respond(StatusCodes.Status200OK, runs.OrderByDescending(r => r.CreatedAt).ToList());
    }

    [Function(nameof(GetReport))]
    public async Task<IActionResult> GetReport([HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{instanceId}/report")] HttpRequest request,
        string instanceId, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (instance == null) return new NotFoundResult();
        var input = instance.ReadInputAs<RetrainRequest>();
        if (input == null) return new NotFoundResult();
        string html = BlobLayout.ReportHtml(input.Task, input.RunId), markdown = BlobLayout.ReportMarkdown(input.Task, input.RunId);
        if (!await store.ExistsAsync(html, request.HttpContext.RequestAborted).ConfigureAwait(false))
            return Respond(StatusCodes.Status404NotFound, new { error = "no report yet", runtime_status = instance.RuntimeStatus.ToString() });
        return Respond(StatusCodes.Status200OK, new
        {
            html_path = html, markdown_path = markdown,
            html_url = store.Location.TrimEnd('/') + "/" + html, markdown_url = store.Location.TrimEnd('/') + "/" + markdown,
        });
    }

    private static RunView View(OrchestrationMetadata instance, bool withResult) => new(
        instance.InstanceId, instance.RuntimeStatus.ToString(),
        instance.SerializedCustomStatus == null ? null : instance.ReadCustomStatusAs<RetrainStatus>(),
        instance.CreatedAt, instance.LastUpdatedAt, instance.FailureDetails?.ErrorMessage,
        withResult && instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? instance.ReadOutputAs<RetrainResult>() : null);
}
