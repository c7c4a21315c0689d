using System.Text.Json.Nodes;
using PredGen.Shared.Configuration;

namespace PredGen.Infra.Tests;

/// <summary>
/// The Functions host cannot run here, so what it would find at start-up is checked offline: every trigger in the
/// functions.metadata the Worker SDK built, and every KEDA rule, against what infra/main.bicep creates and provides
/// (issue 13, item 9).
/// </summary>
public sealed class FunctionsBindingsTests
{
    private static List<(string Function, JsonObject Binding)> Triggers()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "functions.metadata");
        Assert.True(File.Exists(path), $"functions.metadata not found next to the tests ({path}): the Functions app is a project reference");
        return JsonNode.Parse(File.ReadAllText(path))!.AsArray()
            .SelectMany(f => f!["bindings"]!.AsArray().Select(b => ((string)f["name"]!, b!.AsObject())))
            .Where(x => ((string?)x.Item2["type"])?.EndsWith("Trigger", StringComparison.Ordinal) == true)
            .ToList();
    }

    private static string Literal(string jsonText) => jsonText.Trim('"');

    [Fact]
    public async Task Every_storage_trigger_connection_is_identity_based_with_the_endpoints_it_needs()
    {
        var settings = InfraTemplate.Settings(await BicepCli.MainTemplateAsync(), SettingHosts.FunctionsApp);
        var storageTriggers = Triggers().Where(t => t.Binding["connection"] is not null).ToList();

        Assert.Equal(["blobTrigger", "queueTrigger"], storageTriggers.Select(t => (string)t.Binding["type"]!).Distinct().Order(StringComparer.Ordinal));
        foreach (var (function, binding) in storageTriggers)
        {
            string connection = (string)binding["connection"]!;
            Assert.False(settings.ContainsKey(connection), $"{function}: {connection} would be a connection string");
            Assert.Equal("managedidentity", Literal(settings[$"{connection}__credential"]));
            Assert.Contains("functionsClientId", settings[$"{connection}__clientId"], StringComparison.Ordinal);
            // The blob trigger also keeps receipts and poison messages in queues; the queue trigger needs only queues.
            var endpoints = (string)binding["type"]! == "blobTrigger" ? new[] { "blobServiceUri", "queueServiceUri" } : ["queueServiceUri"];
            foreach (string endpoint in endpoints)
                Assert.True(settings.ContainsKey($"{connection}__{endpoint}"), $"{function}: no {connection}__{endpoint}");
        }
    }

    [Fact]
    public async Task Every_queue_trigger_reads_a_storage_queue_infra_creates_and_the_trainer_reports_to()
    {
        var template = await BicepCli.MainTemplateAsync();
        var created = InfraTemplate.ModuleParameter(template, "storage", "queues")!.AsArray().Select(q => (string?)InfraTemplate.ResolveVariable(template, q)).ToHashSet();
        var trainer = InfraTemplate.Settings(template, SettingHosts.TrainingJob);
        var queueTriggers = Triggers().Where(t => (string?)t.Binding["type"] == "queueTrigger").ToList();

        Assert.NotEmpty(queueTriggers);
        foreach (var (function, binding) in queueTriggers)
        {
            string queue = (string)binding["queueName"]!;
            Assert.True(created.Contains(queue), $"{function}: storage queue {queue} is not created");
            string reportedTo = Literal(trainer[SettingNames.AsEnvironmentVariable(SettingNames.JobResultsQueue)]);
            Assert.Equal(queue, (string?)InfraTemplate.ResolveVariable(template, JsonValue.Create(reportedTo)));
        }
    }

    [Fact]
    public async Task The_blob_trigger_is_fed_by_event_grid_on_a_container_infra_creates()
    {
        var template = await BicepCli.MainTemplateAsync();
        var containers = template["variables"]!["blobContainers"]!.AsArray().Select(c => (string)c!).ToHashSet();
        var (function, blob) = Assert.Single(Triggers(), t => (string?)t.Binding["type"] == "blobTrigger");

        Assert.Equal("EventGrid", (string?)blob["source"]);
        string container = ((string)blob["path"]!).Split('/')[0];
        Assert.Contains(container, containers);
        Assert.Equal(container, (string?)template["outputs"]!["PREDGEN_DATASETS_CONTAINER"]!["value"]);
        Assert.Equal(function, (string?)InfraTemplate.ResolveVariable(template, template["outputs"]!["PREDGEN_BLOB_TRIGGER_FUNCTION"]!["value"]));
    }

    [Theory]
    [InlineData("trainer-job")]
    [InlineData("prediction-worker")]
    public async Task Every_KEDA_rule_watches_a_Service_Bus_queue_infra_creates_in_its_namespace_with_an_identity_of_the_app(string module)
    {
        var template = await BicepCli.MainTemplateAsync();
        var serviceBusQueues = InfraTemplate.ModuleParameter(template, "servicebus", "queues")!.AsArray()
            .Select(q => (string?)InfraTemplate.ResolveVariable(template, q!["name"])).ToHashSet();
        var nested = InfraTemplate.ModuleTemplate(template, module);
        var app = Assert.Single(InfraTemplate.Resources(nested), r => (string?)r["type"] is "Microsoft.App/jobs" or "Microsoft.App/containerApps");
        var rules = (app["properties"]!["configuration"]!["eventTriggerConfig"]?["scale"]?["rules"]
                     ?? app["properties"]!["template"]!["scale"]!["rules"])!.AsArray().Select(r => r!.AsObject()).ToList();
        var identities = app["identity"]!["userAssignedIdentities"]!.AsObject().Select(p => p.Key).ToHashSet();

        var rule = Assert.Single(rules);
        var body = rule["custom"] as JsonObject ?? rule;
        Assert.Equal("azure-servicebus", (string?)body["type"]);
        Assert.Equal("[parameters('queueName')]", (string?)body["metadata"]!["queueName"]);
        Assert.Equal("[parameters('serviceBusNamespaceName')]", (string?)body["metadata"]!["namespace"]);
        Assert.Null(body["auth"]);
        string identity = (string)body["identity"]!;
        Assert.Contains($"[format('{{0}}', {identity.Trim('[', ']')})]", identities);

        Assert.Contains((string?)InfraTemplate.ModuleParameter(template, module, "queueName"), serviceBusQueues);
        Assert.True(InfraTemplate.IsModuleOutput(InfraTemplate.ModuleParameter(template, module, "serviceBusNamespaceName"), "servicebus", "name"));
    }
}
