using System.Text.Json;
using PredGen.Workflows.Activities;
using PredGen.Workflows;
using PredGen.Workflows.Retrain;

namespace PredGen.Functions.Tests;

public sealed class FunctionsMetadataTests
{
    private static Dictionary<string, JsonElement> Triggers()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "functions.metadata");
        Assert.True(File.Exists(path), $"functions.metadata not found next to the tests ({path})");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal)).Clone());
    }

    /// <summary>The host exports its telemetry with OpenTelemetry only when host.json says so; the worker then adds its
    /// own through Microsoft.Azure.Functions.Worker.OpenTelemetry (Program.cs), and the classic Application Insights
    /// worker package, whose telemetry would be sent twice next to it, is gone (issue 18).</summary>
    [Fact]
    public void The_app_ships_OpenTelemetry_telemetry_and_not_the_classic_Application_Insights_worker()
    {
        string hostJson = Path.Combine(AppContext.BaseDirectory, "host.json");
        Assert.True(File.Exists(hostJson), $"host.json not found next to the tests ({hostJson})");
        using var doc = JsonDocument.Parse(File.ReadAllText(hostJson));
        Assert.Equal("OpenTelemetry", doc.RootElement.GetProperty("telemetryMode").GetString());
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "Microsoft.Azure.Functions.Worker.OpenTelemetry.dll")));
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "Microsoft.Azure.Functions.Worker.ApplicationInsights.dll")));
    }

    /// <summary>The Functions host discovers functions from functions.metadata, which the Worker SDK generates at build time.</summary>
    [Fact]
    public void The_built_functions_metadata_lists_the_health_endpoint()
    {
        Assert.Contains("Health", Triggers().Keys);
    }

    /// <summary>Orchestrations call activities and sub-orchestrations by class name; each needs a function of that name.</summary>
    [Theory]
    [InlineData(nameof(RetrainOrchestration), "orchestrationTrigger")]
    [InlineData(nameof(JobOrchestration), "orchestrationTrigger")]
    [InlineData(nameof(PrepareDatasetActivity), "activityTrigger")]
    [InlineData(nameof(DispatchJobActivity), "activityTrigger")]
    [InlineData(nameof(GetJobStatusActivity), "activityTrigger")]
    [InlineData(nameof(GetJobStartActivity), "activityTrigger")]
    [InlineData(nameof(ReadChampionActivity), "activityTrigger")]
    [InlineData(nameof(BuildReportActivity), "activityTrigger")]
    [InlineData(nameof(PromoteChampionActivity), "activityTrigger")]
    [InlineData(nameof(DatasetTrigger.DatasetUploaded), "blobTrigger")]
    [InlineData(nameof(JobResultsTrigger.JobResultReceived), "queueTrigger")]
    [InlineData(nameof(RunsApi.StartRun), "httpTrigger")]
    [InlineData(nameof(RunsApi.GetRun), "httpTrigger")]
    [InlineData(nameof(RunsApi.RetryRun), "httpTrigger")]
    [InlineData(nameof(RunsApi.ListRuns), "httpTrigger")]
    [InlineData(nameof(RunsApi.GetReport), "httpTrigger")]
    public void The_built_functions_metadata_lists_every_workflow_function(string name, string trigger)
    {
        var triggers = Triggers();
        Assert.True(triggers.ContainsKey(name), $"{name} missing from functions.metadata ({string.Join(", ", triggers.Keys)})");
        Assert.Equal(trigger, triggers[name].GetProperty("type").GetString());
    }

    [Fact]
    public void The_dataset_trigger_listens_to_event_grid_on_the_datasets_container()
    {
        var blob = Triggers()[nameof(DatasetTrigger.DatasetUploaded)];
        Assert.Equal("EventGrid", blob.GetProperty("source").GetString());
        Assert.Equal("datasets/{task}/{name}", blob.GetProperty("path").GetString());
        Assert.Equal("job-results", Triggers()[nameof(JobResultsTrigger.JobResultReceived)].GetProperty("queueName").GetString());
    }

    [Fact]
    public void Every_workflow_class_registered_for_the_in_process_engine_has_a_function()
    {
        var registered = typeof(WorkflowRegistration).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false } && (t.BaseType?.IsGenericType ?? false)
                && (t.BaseType.GetGenericTypeDefinition() == typeof(Microsoft.DurableTask.TaskActivity<,>) || t.BaseType.GetGenericTypeDefinition() == typeof(Microsoft.DurableTask.TaskOrchestrator<,>)))
            .Select(t => t.Name).ToList();
        Assert.Equal(9, registered.Count); // GetJobStartActivity (issue 13) is the ninth
        Assert.All(registered, name => Assert.Contains(name, Triggers().Keys));
    }
}
