using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Workflows;
using PredGen.Workflows.Retrain;

namespace PredGen.Functions.Tests;

/// <summary>
/// The Functions app's HTTP endpoints without a Functions host (it cannot run here): each function method is called
/// with an ASP.NET Core <see cref="HttpRequest"/> (the worker's HTTP integration type), its <see cref="IActionResult"/>
/// is executed as the worker executes it, and the status and JSON body are what a client would get. Durable clients
/// are the in-process Durable Task engine's, running the real workflows on a folder store; no job worker runs, so a
/// run that gets past preparation waits for its jobs (Running).
/// </summary>
public sealed class HttpApiHost : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-http-" + Guid.NewGuid().ToString("N")[..8]);
    private DurableTaskTestHost? _host;
    private readonly ServiceProvider _mvc = new ServiceCollection().AddLogging().AddMvcCore().Services.BuildServiceProvider();

    public HttpApiHost() => Store = new FileSystemArtifactStore(_root);

    public FileSystemArtifactStore Store { get; }
    public InProcessJobDispatcher Jobs { get; } = new();
    public DurableTaskClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        _host = await DurableTaskTestHost.StartAsync(r => r.AddWorkflowTasks(), new DurableTaskTestHostOptions
        {
            LoggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning)),
            ConfigureServices = s =>
            {
                s.AddSingleton<IArtifactStore>(Store);
                s.AddSingleton<IJobDispatcher>(Jobs);
            },
        });
    }

    public async Task DisposeAsync()
    {
        if (_host != null) await _host.DisposeAsync();
        await Jobs.DisposeAsync();
        await _mvc.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    public RunsApi Api(IArtifactStore? store = null) => new(store ?? Store, new RetrainDefaults { JobPollSeconds = 2 });

    public HttpRequest Request(string method, string? body = null, string? query = null)
    {
        var context = new DefaultHttpContext { RequestServices = _mvc };
        context.Request.Method = method;
        if (body != null)
        {
            context.Request.ContentType = "application/json";
            context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        }
        if (query != null) context.Request.QueryString = new QueryString(query);
        context.Response.Body = new MemoryStream();
        return context.Request;
    }

    /// <summary>What the client receives: the status code and the JSON body (null when there is none).</summary>
    public static async Task<(int Status, JsonElement? Body)> SendAsync(HttpRequest request, Func<HttpRequest, Task<IActionResult>> function)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await function(request);
        var context = request.HttpContext;
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        context.Response.Body.Position = 0;
        string text = await new StreamReader(context.Response.Body).ReadToEndAsync();
        return (context.Response.StatusCode, text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone());
    }

    public async Task<string> UploadAsync(string task, string file, string content)
    {
        string path = BlobLayout.Dataset(task, file);
        await Store.WriteTextAsync(path, content);
        return path;
    }

    /// <summary>A two-class JSONL file of <paramref name="rows"/> distinct rows (<paramref name="salt"/> makes its bytes, and so its run, new).</summary>
    public static string Jsonl(int rows, string salt = "") => string.Concat(Enumerable.Range(0, rows).Select(i =>
        JsonSerializer.Serialize(new { text = $"review {salt}{i} " + (i % 2 == 0 ? "great fun" : "dull and slow"), label = i % 2 == 0 ? "positive" : "negative" }) + "\n"));

    public async Task<OrchestrationMetadata> WaitForStatusAsync(string instanceId, Func<OrchestrationMetadata, bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var instance = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
            if (instance != null && done(instance)) return instance;
            await Task.Delay(50, timeout.Token);
        }
    }
}
