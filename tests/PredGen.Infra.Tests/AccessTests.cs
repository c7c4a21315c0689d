using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PredGen.TestSupport;

namespace PredGen.Infra.Tests;

/// <summary>
/// Role assignments (infra/app/access.json, applied by rbac.bicep): every role id is the built-in role it claims to
/// be, every assignment names its role, and each KEDA scale rule's identity can read its queue's message count.
/// </summary>
public sealed partial class AccessTests
{
    /// <summary>
    /// Built-in role name -> id, checked by hand against Microsoft's "Azure built-in roles" page
    /// (learn.microsoft.com/azure/role-based-access-control/built-in-roles). A wrong id fails only at provision
    /// (RoleDefinitionDoesNotExist); issue 13 found Data Sender with a mistyped tail. Add a row only after checking it there.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> BuiltInRoles = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Storage Blob Data Owner"] = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        ["Storage Blob Data Contributor"] = "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        ["Storage Blob Data Reader"] = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        ["Storage Queue Data Contributor"] = "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        ["Storage Table Data Contributor"] = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        ["Azure Service Bus Data Owner"] = "090c5cfd-751d-490a-894a-3ce6f1109419",
        ["Azure Service Bus Data Sender"] = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
        ["Azure Service Bus Data Receiver"] = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
        ["AcrPull"] = "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        ["Monitoring Metrics Publisher"] = "3913510d-42f4-4e42-8a64-420c390055eb",
    };

    private const string DataOwner = "Azure Service Bus Data Owner";

    private static readonly string s_infra = Path.Combine(TestPaths.RepositoryRoot(), "infra");

    internal static JsonObject Access() => JsonNode.Parse(File.ReadAllText(Path.Combine(s_infra, "app", "access.json")))!.AsObject();

    /// <summary>(scope kind, row) for every assignment in access.json.</summary>
    internal static IEnumerable<(string Scope, JsonObject Row)> Assignments() =>
        Access().Where(p => p.Key != "roles").SelectMany(p => p.Value!.AsArray().Select(r => (p.Key, r!.AsObject())));

    [GeneratedRegex(@"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex Guid();

    [Fact]
    public void Every_role_in_the_access_table_is_the_built_in_role_of_that_name()
    {
        var roles = Access()["roles"]!.AsObject();

        Assert.NotEmpty(roles);
        foreach (var (name, id) in roles)
        {
            Assert.True(BuiltInRoles.TryGetValue(name, out var expected), $"'{name}' is not in the pinned table of built-in roles");
            Assert.Equal(expected, (string?)id);
        }
    }

    [Fact]
    public void No_role_id_is_written_anywhere_in_infra_but_the_access_table()
    {
        // One place for ids: a GUID typed into a module would escape the check above.
        string table = Path.Combine(s_infra, "app", "access.json");
        var stray = Directory.EnumerateFiles(s_infra, "*.*", SearchOption.AllDirectories)
            .Where(f => f != table && (f.EndsWith(".bicep", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
            .SelectMany(f => Guid().Matches(File.ReadAllText(f)).Select(m => $"{Path.GetRelativePath(s_infra, f)}: {m.Value}"))
            .ToList();

        Assert.Empty(stray);
    }

    [Fact]
    public async Task Every_assignment_names_a_role_of_the_table_an_identity_rbac_bicep_knows_and_a_scope_main_bicep_creates()
    {
        var template = await BicepCli.MainTemplateAsync();
        var roles = Access()["roles"]!.AsObject();
        var principals = InfraTemplate.ModuleParameter(template, "rbac", "principals")!.AsObject().Select(p => p.Key).ToHashSet();
        var queues = template["variables"]!["queues"]!.AsObject().Select(p => p.Key).ToHashSet();
        var containers = template["variables"]!["blobContainers"]!.AsArray().Select(c => (string)c!).ToHashSet();
        var wrong = new List<string>();

        foreach (var (scope, row) in Assignments())
        {
            string role = (string)row["role"]!, identity = (string)row["identity"]!;
            if (!roles.ContainsKey(role)) wrong.Add($"{scope}: role '{role}' is not in the table");
            if (!principals.Contains(identity)) wrong.Add($"{scope}: identity '{identity}' is not passed to rbac.bicep");
            if (row["queue"] is { } q && !queues.Contains((string)q!)) wrong.Add($"{scope}: queue key '{q}' is not in main.bicep's queues");
            if (row["container"] is { } c && !containers.Contains((string)c!)) wrong.Add($"{scope}: container '{c}' is not created");
        }

        Assert.Empty(wrong);
        Assert.Equal(Assignments().Count(), Assignments().Select(a => $"{a.Scope}|{a.Row["queue"]}{a.Row["container"]}|{a.Row["identity"]}|{a.Row["role"]}").Distinct().Count());
    }

    [Fact]
    public void Role_assignments_describe_the_role_they_grant()
    {
        string rbac = File.ReadAllText(Path.Combine(s_infra, "app", "rbac.bicep"));
        int assignments = Regex.Count(rbac, @"'Microsoft\.Authorization/roleAssignments@");

        Assert.Equal(6, assignments);
        Assert.Equal(assignments, Regex.Count(rbac, @"description: '\$\{a\.role\} for \$\{a\.identity\}'"));
        Assert.Equal(assignments, Regex.Count(rbac, @"roleDefinitionId: subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', a\.roleId\)"));
    }

    /// <summary>(module, scale rule identity key in access.json, the identities module output holding its resource id).</summary>
    public static TheoryData<string, string> ScaledWorkloads() => new()
    {
        { "trainer-job", "trainerScaleRule" },
        { "prediction-worker", "predictionScaleRule" },
    };

    [Theory]
    [MemberData(nameof(ScaledWorkloads))]
    public async Task Each_scale_rule_authenticates_with_an_identity_that_holds_Data_Owner_on_its_one_queue_and_nothing_else(string module, string identity)
    {
        // KEDA's azure-servicebus scaler reads the message count with GetQueueRuntimeProperties, an administrative call
        // that needs the Manage right: with Entra ID only Azure Service Bus Data Owner grants it (docs/DEPLOY.md).
        var template = await BicepCli.MainTemplateAsync();
        string rules = InfraTemplate.Text(InfraTemplate.ModuleTemplate(template, module));
        Assert.Contains("\"identity\":\"[parameters('scaleRuleIdentityId')]\"", rules, StringComparison.Ordinal);
        Assert.Contains("\"[format('{0}', parameters('scaleRuleIdentityId'))]\":{}", rules, StringComparison.Ordinal);
        Assert.True(InfraTemplate.IsModuleOutput(InfraTemplate.ModuleParameter(template, module, "scaleRuleIdentityId"), "identities", identity + "Id"));
        var principal = InfraTemplate.ModuleParameter(template, "rbac", "principals")![identity];
        Assert.True(InfraTemplate.IsModuleOutput(principal, "identities", identity + "PrincipalId"), $"rbac gets {principal} for {identity}");

        string queue = (string)InfraTemplate.ModuleParameter(template, module, "queueName")!;
        var grants = Assignments().Where(a => (string?)a.Row["identity"] == identity).ToList();
        var grant = Assert.Single(grants);
        Assert.Equal("serviceBusQueues", grant.Scope);
        Assert.Equal(DataOwner, (string?)grant.Row["role"]);
        Assert.Equal(queue, (string?)template["variables"]!["queues"]![(string)grant.Row["queue"]!]);
    }

    [Fact]
    public async Task The_code_runs_as_an_identity_without_the_Manage_right()
    {
        var template = await BicepCli.MainTemplateAsync();
        var owners = Assignments().Where(a => (string?)a.Row["role"] == DataOwner).Select(a => (string)a.Row["identity"]!).ToHashSet();

        Assert.Equal(["predictionScaleRule", "trainerScaleRule"], owners.Order(StringComparer.Ordinal));
        foreach (var (module, workload) in new[] { ("trainer-job", "trainer"), ("prediction-worker", "predictionWorker") })
        {
            Assert.True(InfraTemplate.IsModuleOutput(InfraTemplate.ModuleParameter(template, module, "identityId"), "identities", workload + "Id"));
            var settings = InfraTemplate.Settings(template, module == "trainer-job" ? PredGen.Shared.Configuration.SettingHosts.TrainingJob : PredGen.Shared.Configuration.SettingHosts.PredictionWorker);
            Assert.Contains($"outputs.{workload}ClientId.value", settings["AZURE_CLIENT_ID"], StringComparison.Ordinal);
        }
    }
}
