using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask.Client;
using PredGen.Shared.Data;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Functions.Tests;

/// <summary>Every HTTP endpoint of the Functions app (issue 14, item 16), called with the worker's HTTP types on the
/// in-process Durable Task engine: the status and JSON a client gets.</summary>
public sealed class RunsApiTests : IClassFixture<HttpApiHost>
{
    private readonly HttpApiHost _h;

    public RunsApiTests(HttpApiHost host) => _h = host;

    private static string Task() => "t" + Guid.NewGuid().ToString("N")[..8];

    private Task<(int Status, JsonElement? Body)> StartAsync(string body, RunsApi? api = null) =>
        HttpApiHost.SendAsync(_h.Request("POST", body), r => (api ?? _h.Api()).StartRun(r, _h.Client));

    [Fact]
    public async Task Health_answers_ok_without_touching_storage()
    {
        var (status, body) = await HttpApiHost.SendAsync(_h.Request("GET"), r => System.Threading.Tasks.Task.FromResult(HealthFunction.Run(r)));

        Assert.Equal(200, status);
        Assert.Equal("ok", body!.Value.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Start_run_accepts_kind_as_a_string_and_the_overrides_and_a_second_post_of_the_same_file_starts_nothing()
    {
        string task = Task();
        await _h.UploadAsync(task, "prices.jsonl", HttpApiHost.Jsonl(40));
        string body = $$"""{"task":"{{task}}","dataset":"prices.jsonl","kind":"regression","methods":["predgen","Generator"],"seeds":2,"steps":7}""";

        var (status, started) = await StartAsync(body);
        var (againStatus, again) = await StartAsync(body);

        Assert.Equal(202, status);
        string instanceId = started!.Value.GetProperty("instance_id").GetString()!;
        Assert.True(started.Value.GetProperty("started").GetBoolean());
        var input = (await _h.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true))!.ReadInputAs<RetrainRequest>()!;
        Assert.Equal((TaskKind.Regression, 2, 7), (input.Kind, input.Seeds, input.Training.Steps));
        Assert.Equal(["PredGen", "Generator"], input.Methods);
        Assert.Equal(200, againStatus);
        Assert.Equal((instanceId, false), (again!.Value.GetProperty("instance_id").GetString(), again.Value.GetProperty("started").GetBoolean()));
    }

    [Theory]
    [InlineData("""{"kind":"ordinal"}""", "kind")]
    [InlineData("""{"kind":3}""", "kind")]
    [InlineData("""{"methods":["PredGen","Bogus"]}""", "methods")]
    [InlineData("""{"methods":["Baseline"]}""", "methods")]
    [InlineData("""{"steps":0}""", "steps")]
    [InlineData("""{"steps":-5}""", "steps")]
    [InlineData("""{"steps":"many"}""", "steps")]
    [InlineData("""{"seeds":0}""", "seeds")]
    [InlineData("""{"seeds":1000}""", "seeds")]
    [InlineData("""{"task":"Not A Task!"}""", "task")]
    [InlineData("""{"dataset":""}""", "dataset")]
    [InlineData("""not json""", "body")]
    public async Task Start_run_answers_400_naming_the_field_for_bad_input_and_starts_nothing(string overrides, string field)
    {
        string task = Task();
        await _h.UploadAsync(task, "a.jsonl", HttpApiHost.Jsonl(40));
        string body = overrides.StartsWith('{')
            ? JsonSerializer.Serialize(Merge(new Dictionary<string, JsonElement>
            {
                ["task"] = JsonSerializer.SerializeToElement(task), ["dataset"] = JsonSerializer.SerializeToElement("a.jsonl"),
            }, JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(overrides)!))
            : overrides;

        var (status, error) = await StartAsync(body);

        Assert.Equal(400, status);
        Assert.Contains(field, error!.Value.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(await ListIdsAsync(task));
    }

    private static Dictionary<string, JsonElement> Merge(Dictionary<string, JsonElement> a, Dictionary<string, JsonElement> b)
    {
        foreach (var (k, v) in b) a[k] = v;
        return a;
    }

    [Fact]
    public async Task Start_run_of_a_missing_file_answers_404_naming_it()
    {
        string task = Task();

        var (status, error) = await StartAsync($$"""{"task":"{{task}}","dataset":"nothing-here.jsonl"}""");

        Assert.Equal(404, status);
        Assert.Contains($"datasets/{task}/nothing-here.jsonl", error!.Value.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_run_hashes_the_dataset_as_a_stream_without_loading_it_whole()
    {
        string task = Task();
        string content = HttpApiHost.Jsonl(40, salt: "streamed");
        string path = await _h.UploadAsync(task, "big.jsonl", content);
        var store = new NoWholeReads(_h.Store, path);

        var (status, started) = await StartAsync($$"""{"task":"{{task}}","dataset":"big.jsonl"}""", _h.Api(store));

        Assert.Equal(202, status);
        string expected = RetrainRequest.RunIdFromContentHash(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
        Assert.Equal(RetrainRequest.InstanceIdFor(task, expected), started!.Value.GetProperty("instance_id").GetString());
    }

    [Fact]
    public async Task Listing_runs_of_a_task_lists_that_task_only_not_a_task_whose_name_starts_the_same()
    {
        string task = Task();
        await _h.UploadAsync(task, "a.jsonl", HttpApiHost.Jsonl(40, "a"));
        await _h.UploadAsync(task + "-2", "a.jsonl", HttpApiHost.Jsonl(40, "b"));
        var (_, mine) = await StartAsync($$"""{"task":"{{task}}","dataset":"a.jsonl"}""");
        var (_, other) = await StartAsync($$"""{"task":"{{task}}-2","dataset":"a.jsonl"}""");

        var listed = await ListIdsAsync(task);
        var listedOther = await ListIdsAsync(task + "-2");

        Assert.Equal([mine!.Value.GetProperty("instance_id").GetString()!], listed);
        Assert.Equal([other!.Value.GetProperty("instance_id").GetString()!], listedOther);
    }

    private async Task<List<string>> ListIdsAsync(string task)
    {
        var (status, runs) = await HttpApiHost.SendAsync(_h.Request("GET", query: "?task=" + task), r => RunsApi.ListRuns(r, _h.Client));
        Assert.Equal(200, status);
        return [.. runs!.Value.EnumerateArray().Select(r => r.GetProperty("instance_id").GetString()!)];
    }

    [Fact]
    public async Task Get_run_answers_its_status_and_progress_and_404_for_an_unknown_one()
    {
        string task = Task();
        await _h.UploadAsync(task, "a.jsonl", HttpApiHost.Jsonl(40));
        var (_, started) = await StartAsync($$"""{"task":"{{task}}","dataset":"a.jsonl"}""");
        string id = started!.Value.GetProperty("instance_id").GetString()!;
        await _h.WaitForStatusAsync(id, i => i.SerializedCustomStatus != null);

        var (status, run) = await HttpApiHost.SendAsync(_h.Request("GET"), r => RunsApi.GetRun(r, id, _h.Client));
        var (unknown, _) = await HttpApiHost.SendAsync(_h.Request("GET"), r => RunsApi.GetRun(r, "retrain-nosuch-0000", _h.Client));

        Assert.Equal(200, status);
        Assert.Equal((id, "Running"), (run!.Value.GetProperty("instance_id").GetString(), run.Value.GetProperty("runtime_status").GetString()));
        Assert.Contains(run.Value.GetProperty("progress").GetProperty("stage").GetString(), new[] { RetrainStages.Preparing, RetrainStages.Trials, RetrainStages.Training });
        Assert.Equal(404, unknown);
    }

    [Fact]
    public async Task Get_report_answers_404_until_the_report_exists_then_its_paths()
    {
        string task = Task();
        await _h.UploadAsync(task, "a.jsonl", HttpApiHost.Jsonl(40));
        var (_, started) = await StartAsync($$"""{"task":"{{task}}","dataset":"a.jsonl"}""");
        string id = started!.Value.GetProperty("instance_id").GetString()!, runId = started.Value.GetProperty("run_id").GetString()!;

        var (before, pending) = await HttpApiHost.SendAsync(_h.Request("GET"), r => _h.Api().GetReport(r, id, _h.Client));
        await _h.Store.WriteTextAsync(BlobLayout.ReportHtml(task, runId), "<html></html>");
        var (after, report) = await HttpApiHost.SendAsync(_h.Request("GET"), r => _h.Api().GetReport(r, id, _h.Client));
        var (unknown, _) = await HttpApiHost.SendAsync(_h.Request("GET"), r => _h.Api().GetReport(r, "retrain-nosuch-0000", _h.Client));

        Assert.Equal(404, before);
        Assert.Equal("no report yet", pending!.Value.GetProperty("error").GetString());
        Assert.Equal(200, after);
        Assert.Equal(BlobLayout.ReportHtml(task, runId), report!.Value.GetProperty("html_path").GetString());
        Assert.Equal(BlobLayout.ReportMarkdown(task, runId), report.Value.GetProperty("markdown_path").GetString());
        Assert.Equal(404, unknown);
    }

    [Fact]
    public async Task Retry_restarts_a_failed_run_answers_409_for_a_running_one_and_404_for_an_unknown_one()
    {
        string task = Task();
        await _h.UploadAsync(task, "few.jsonl", HttpApiHost.Jsonl(4)); // too few rows: preparation fails the run
        await _h.UploadAsync(task, "ok.jsonl", HttpApiHost.Jsonl(40));
        var (_, failedStart) = await StartAsync($$"""{"task":"{{task}}","dataset":"few.jsonl"}""");
        var (_, runningStart) = await StartAsync($$"""{"task":"{{task}}","dataset":"ok.jsonl"}""");
        string failed = failedStart!.Value.GetProperty("instance_id").GetString()!, running = runningStart!.Value.GetProperty("instance_id").GetString()!;
        await _h.WaitForStatusAsync(failed, i => i.RuntimeStatus == OrchestrationRuntimeStatus.Failed);
        await _h.WaitForStatusAsync(running, i => i.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        var (retried, retry) = await HttpApiHost.SendAsync(_h.Request("POST"), r => _h.Api().RetryRun(r, failed, _h.Client));
        var (busy, _) = await HttpApiHost.SendAsync(_h.Request("POST"), r => _h.Api().RetryRun(r, running, _h.Client));
        var (unknown, _) = await HttpApiHost.SendAsync(_h.Request("POST"), r => _h.Api().RetryRun(r, "retrain-nosuch-0000", _h.Client));

        Assert.Equal(202, retried);
        Assert.Equal(("Failed", true), (retry!.Value.GetProperty("status").GetString(), retry.Value.GetProperty("restarted").GetBoolean()));
        Assert.Equal(409, busy);
        Assert.Equal(404, unknown);
    }

    /// <summary>Fails a whole-artifact read of one path: the caller must stream it.</summary>
    private sealed class NoWholeReads(IArtifactStore inner, string path) : IArtifactStore
    {
        public string Location => inner.Location;
        public Task WriteAsync(string p, BinaryData content, CancellationToken ct = default) => inner.WriteAsync(p, content, ct);
        public Task<string> WriteIfMatchAsync(string p, BinaryData content, string? etag, CancellationToken ct = default) => inner.WriteIfMatchAsync(p, content, etag, ct);
        public Task<StoredArtifact?> ReadAsync(string p, CancellationToken ct = default) =>
            p == path ? throw new InvalidOperationException($"{p} was read whole into memory") : inner.ReadAsync(p, ct);
        public Task<Stream?> OpenReadAsync(string p, CancellationToken ct = default) => inner.OpenReadAsync(p, ct);
        public Task<PinnedRead?> OpenReadPinnedAsync(string p, string? ifMatch, CancellationToken ct = default) => inner.OpenReadPinnedAsync(p, ifMatch, ct);
        public Task<bool> ExistsAsync(string p, CancellationToken ct = default) => inner.ExistsAsync(p, ct);
        public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public Task DeleteAsync(string p, CancellationToken ct = default) => inner.DeleteAsync(p, ct);
    }
}
