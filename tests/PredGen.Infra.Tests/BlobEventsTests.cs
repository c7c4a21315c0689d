using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PredGen.TestSupport;
using YamlDotNet.RepresentationModel;

namespace PredGen.Infra.Tests;

/// <summary>
/// The blob trigger's Event Grid subscription is created after the code is deployed (postdeploy hook), never by
/// provision: the blobs_extension key it needs does not exist on a new environment (issue 13, item 3).
/// </summary>
public sealed partial class BlobEventsTests
{
    private static readonly string s_hooks = Path.Combine(TestPaths.RepositoryRoot(), "infra", "hooks");

    private static async Task<JsonObject> SubscriptionTemplateAsync()
    {
        var run = await BicepCli.BuildBlobEventsSubscriptionAsync();
        Assert.True(run.ExitCode == 0, $"bicep build exited {run.ExitCode}:\n{run.StandardError}");
        Assert.Empty(run.Diagnostics);
        return JsonNode.Parse(run.StandardOutput)!.AsObject();
    }

    [Fact]
    public async Task Provision_reads_no_key_and_creates_no_event_subscription()
    {
        var template = await BicepCli.MainTemplateAsync();

        Assert.DoesNotContain("listKeys", InfraTemplate.Text(template), StringComparison.Ordinal);
        Assert.DoesNotContain(InfraTemplate.AllResources(template), r => ((string?)r["type"])?.Contains("eventSubscriptions", StringComparison.Ordinal) == true);
        Assert.Contains(InfraTemplate.AllResources(template), r => (string?)r["type"] == "Microsoft.EventGrid/systemTopics");
        // No flag that a second provision flips: a new environment (or azd down + up) provisions in one go.
        string parameters = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot(), "infra", "main.parameters.json"));
        Assert.DoesNotContain("BLOB_EVENTS_ENABLED", parameters, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_subscription_template_builds_lints_and_reads_only_the_blobs_extension_key()
    {
        var template = await SubscriptionTemplateAsync();
        var lint = await BicepCli.RunAsync("lint", BicepCli.BlobEventsSubscriptionBicep);
        Assert.True(lint.ExitCode == 0 && lint.Diagnostics.Count == 0, string.Join("\n", lint.Diagnostics));

        var subscription = Assert.Single(InfraTemplate.AllResources(template), r => (string?)r["type"] == "Microsoft.EventGrid/systemTopics/eventSubscriptions");
        string url = (string)subscription["properties"]!["destination"]!["properties"]!["endpointUrl"]!;
        Assert.Contains("/runtime/webhooks/blobs?functionName=Host.Functions.", url, StringComparison.Ordinal);
        Assert.Contains(".systemKeys.blobs_extension", url, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(InfraTemplate.Text(template), "listKeys"));
        Assert.DoesNotContain("listKeys", InfraTemplate.Text(template["outputs"]), StringComparison.Ordinal);
        Assert.Equal(["Microsoft.Storage.BlobCreated"], subscription["properties"]!["filter"]!["includedEventTypes"]!.AsArray().Select(t => (string?)t));
        Assert.Contains("parameters('datasetsContainerName')", InfraTemplate.Text(subscription["properties"]!["filter"]!["subjectBeginsWith"]), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\$\{?(?:env:)?(?<name>(?:AZURE|PREDGEN)_[A-Z0-9_]+)")]
    private static partial Regex EnvironmentReference();

    [GeneratedRegex(@"(?<name>\w+)=""?\$(?:env:)?\{?(?:AZURE|PREDGEN)_")]
    private static partial Regex TemplateArgument();

    [Theory]
    [InlineData("postdeploy.sh")]
    [InlineData("postdeploy.ps1")]
    public async Task The_postdeploy_hook_passes_every_parameter_from_values_main_bicep_outputs(string script)
    {
        string text = File.ReadAllText(Path.Combine(s_hooks, script));
        var main = await BicepCli.MainTemplateAsync();
        var outputs = main["outputs"]!.AsObject().Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        var declared = (await SubscriptionTemplateAsync())["parameters"]!.AsObject().Select(p => p.Key).ToHashSet(StringComparer.Ordinal);

        var read = EnvironmentReference().Matches(text).Select(m => m.Groups["name"].Value).Distinct().ToList();
        Assert.NotEmpty(read);
        Assert.All(read, name => Assert.True(outputs.Contains(name), $"{script} reads {name}, which main.bicep does not output"));
        Assert.Equal(declared.Order(StringComparer.Ordinal), TemplateArgument().Matches(text).Select(m => m.Groups["name"].Value).Distinct().Order(StringComparer.Ordinal));
        Assert.Contains("blob-events-subscription.bicep", text, StringComparison.Ordinal);
        Assert.Contains("blobs_extension", text, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\s*azd (provision|env set)", text); // no second provision, no flag to flip
    }

    [Fact]
    public void Azure_yaml_runs_the_postdeploy_hook_on_every_platform()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(TestPaths.RepositoryRoot(), "azure.yaml"))) stream.Load(reader);
        var hooks = (YamlMappingNode)((YamlMappingNode)stream.Documents[0].RootNode)["hooks"];
        var postdeploy = (YamlMappingNode)hooks["postdeploy"];

        Assert.Equal("./infra/hooks/postdeploy.sh", ((YamlScalarNode)((YamlMappingNode)postdeploy["posix"])["run"]).Value);
        Assert.Equal("./infra/hooks/postdeploy.ps1", ((YamlScalarNode)((YamlMappingNode)postdeploy["windows"])["run"]).Value);
    }
}
