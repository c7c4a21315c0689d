using System.Text.Json.Nodes;

namespace PredGen.Infra.Tests;

/// <summary>The Service Bus queues main.bicep creates and the storage-queue access around them (issue 13, item 6).</summary>
public sealed class ServiceBusTests
{
    private static async Task<Dictionary<string, JsonObject>> QueuesAsync()
    {
        var template = await BicepCli.MainTemplateAsync();
        return InfraTemplate.ModuleParameter(template, "servicebus", "queues")!.AsArray()
            .Select(q => q!.AsObject())
            .ToDictionary(q => (string)InfraTemplate.ResolveVariable(template, q["name"])!, q => q);
    }

    [Fact]
    public async Task Service_Bus_holds_the_jobs_and_prediction_queues_and_no_job_results_queue()
    {
        // Job results travel on a storage queue (the Functions queue trigger): a Service Bus job-results queue was unused.
        Assert.Equal(["prediction-replies", "prediction-requests", "training-jobs"], (await QueuesAsync()).Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(AccessTests.Assignments(), a => a.Scope == "serviceBusQueues" && (string?)a.Row["queue"] == "jobResults");
    }

    [Fact]
    public async Task The_jobs_queue_drops_a_second_dispatch_of_the_same_job()
    {
        // ServiceBusJobDispatcher sets MessageId = runId/jobId; only duplicate detection makes that count.
        var queues = await QueuesAsync();
        Assert.True((bool)queues["training-jobs"]["duplicateDetection"]!);
        Assert.True((bool)queues["prediction-replies"]["requiresSession"]!);
        string module = InfraTemplate.Text(InfraTemplate.ModuleTemplate(await BicepCli.MainTemplateAsync(), "servicebus"));
        Assert.Contains("\"requiresDuplicateDetection\":\"[parameters('queues')[copyIndex()].duplicateDetection]\"", module, StringComparison.Ordinal);
        Assert.Contains("duplicateDetectionHistoryTimeWindow", module, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_queue_data_access_is_per_queue_except_for_the_Functions_hosts_own_storage()
    {
        // The Functions host (Durable Task hub, trigger poison queues) creates queues of its own: account scope. The
        // trainer only reports to job-results.
        var accountWide = AccessTests.Assignments().Where(a => a.Scope == "storageAccount").Select(a => (string)a.Row["identity"]!).Distinct().ToList();
        Assert.Equal(["functions"], accountWide);
        var queueGrant = Assert.Single(AccessTests.Assignments(), a => a.Scope == "storageQueues");
        Assert.Equal(("jobResults", "trainer", "Storage Queue Data Contributor"),
            ((string)queueGrant.Row["queue"]!, (string)queueGrant.Row["identity"]!, (string)queueGrant.Row["role"]!));
        var template = await BicepCli.MainTemplateAsync();
        var storageQueues = InfraTemplate.ModuleParameter(template, "storage", "queues")!.AsArray().Select(q => (string?)InfraTemplate.ResolveVariable(template, q)).ToList();
        Assert.Equal(["job-results"], storageQueues);
    }
}
