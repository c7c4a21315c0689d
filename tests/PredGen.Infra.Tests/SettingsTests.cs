using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PredGen.Shared.Configuration;
using PredGen.TestSupport;

namespace PredGen.Infra.Tests;

/// <summary>
/// The settings every host reads (PredGen.Shared.Configuration.SettingNames) against what infra/main.bicep provides,
/// and the rule that no setting carries a secret.
/// </summary>
public sealed partial class SettingsTests
{
    private static readonly SettingHosts[] s_hosts = [SettingHosts.FunctionsApp, SettingHosts.TrainingJob, SettingHosts.PredictionWorker];

    /// <summary>Settings the Functions host itself reads (not our code): identity-based host storage, Entra telemetry ingestion.</summary>
    private static readonly string[] s_functionsHostSettings =
    [
        "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ];

    internal static IReadOnlyList<(string Field, string Key, SettingHosts Hosts)> DeclaredSettings() =>
        typeof(SettingNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.GetCustomAttribute<SettingAttribute>() is not null)
            .Select(f => (f.Name, (string)f.GetRawConstantValue()!, f.GetCustomAttribute<SettingAttribute>()!.ProvidedInAzureTo))
            .ToList();

    [Fact]
    public void Every_key_in_SettingNames_declares_which_Azure_hosts_need_it()
    {
        var undeclared = typeof(SettingNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Where(f => !f.Name.EndsWith("Section", StringComparison.Ordinal) && f.GetCustomAttribute<SettingAttribute>() is null)
            .Select(f => f.Name)
            .ToList();

        Assert.Empty(undeclared);
        Assert.True(DeclaredSettings().Count >= 10, $"only {DeclaredSettings().Count} settings declared");
        Assert.Equal(DeclaredSettings().Count, DeclaredSettings().Select(s => SettingNames.AsEnvironmentVariable(s.Key)).Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public async Task Every_setting_a_host_reads_is_provided_to_that_host_by_the_bicep()
    {
        var template = await BicepCli.MainTemplateAsync();
        var missing = new List<string>();
        foreach (var host in s_hosts)
        {
            var provided = InfraTemplate.Settings(template, host);
            foreach (var (field, key, hosts) in DeclaredSettings().Where(s => s.Hosts.HasFlag(host)))
            {
                string name = SettingNames.AsEnvironmentVariable(key);
                if (!provided.ContainsKey(name)) missing.Add($"{host}: {name} (SettingNames.{field})");
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public async Task Every_setting_the_bicep_provides_is_read_by_the_code_or_the_Functions_host()
    {
        // Catches typos and leftovers: a setting nobody reads is either misspelled or dead.
        var template = await BicepCli.MainTemplateAsync();
        var unknown = new List<string>();
        foreach (var host in s_hosts)
        {
            var known = DeclaredSettings().Select(s => SettingNames.AsEnvironmentVariable(s.Key)).ToHashSet(StringComparer.Ordinal);
            if (host == SettingHosts.FunctionsApp) known.UnionWith(s_functionsHostSettings);
            unknown.AddRange(InfraTemplate.Settings(template, host).Keys.Where(k => !known.Contains(k)).Select(k => $"{host}: {k}"));
        }

        Assert.Empty(unknown);
    }

    [Fact]
    public async Task Functions_host_storage_is_reached_with_the_managed_identity_and_no_flex_incompatible_settings()
    {
        var settings = InfraTemplate.Settings(await BicepCli.MainTemplateAsync(), SettingHosts.FunctionsApp);

        Assert.Equal("\"managedidentity\"", settings["AzureWebJobsStorage__credential"]);
        foreach (string name in s_functionsHostSettings) Assert.Contains(name, settings.Keys);
        // A plain AzureWebJobsStorage would be a connection string; Flex Consumption rejects the others.
        foreach (string forbidden in new[] { "AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION",
                     "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "APPINSIGHTS_INSTRUMENTATIONKEY" })
            Assert.DoesNotContain(forbidden, settings.Keys);
    }

    [Fact]
    public async Task Host_modules_apply_the_settings_they_are_given()
    {
        var template = await BicepCli.MainTemplateAsync();

        var functionApp = (JsonObject)InfraTemplate.Module(template, "function-app")["properties"]!["template"]!;
        Assert.Contains(InfraTemplate.AllResources(functionApp), r =>
            (string?)r["type"] == "Microsoft.Web/sites/config" && InfraTemplate.Text(r["properties"]) == "\"[parameters('appSettings')]\"");
        foreach (string module in new[] { "trainer-job", "prediction-worker" })
        {
            var nested = InfraTemplate.Text(InfraTemplate.Module(template, module)["properties"]!["template"]);
            Assert.Contains("items(parameters('settings'))", nested, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"listKeys|listSecrets|listConnectionStrings|listAccountSas|listServiceSas|listCredentials|AccountKey=|SharedAccessKey|SharedAccessSignature|sig=|password|secret", RegexOptions.IgnoreCase)]
    private static partial Regex SecretPattern();

    [Fact]
    public async Task No_setting_holds_a_key_a_secret_or_a_connection_string_with_one()
    {
        var template = await BicepCli.MainTemplateAsync();
        var leaks = s_hosts
            .SelectMany(h => InfraTemplate.Settings(template, h).Select(s => (Host: h, s.Key, s.Value)))
            .Where(s => SecretPattern().IsMatch(s.Value) || SecretPattern().IsMatch(s.Key))
            .Select(s => $"{s.Host}: {s.Key} = {s.Value}")
            .ToList();

        Assert.Empty(leaks);
    }

    [Fact]
    public async Task Infra_creates_no_keys_secrets_or_local_auth()
    {
        var template = await BicepCli.MainTemplateAsync();
        var resources = InfraTemplate.AllResources(template).ToList();
        JsonNode? Property(string type, string path) =>
            path.Split('.').Aggregate<string, JsonNode?>(resources.Single(r => (string?)r["type"] == type)["properties"], (n, p) => (n as JsonObject)?[p]);

        Assert.False((bool?)Property("Microsoft.Storage/storageAccounts", "allowSharedKeyAccess"));
        Assert.True((bool?)Property("Microsoft.ServiceBus/namespaces", "disableLocalAuth"));
        Assert.False((bool?)Property("Microsoft.ContainerRegistry/registries", "adminUserEnabled"));
        Assert.True((bool?)Property("Microsoft.Insights/components", "DisableLocalAuth"));
        Assert.Equal("azure-monitor", (string?)Property("Microsoft.App/managedEnvironments", "appLogsConfiguration.destination"));
        foreach (var app in resources.Where(r => (string?)r["type"] is "Microsoft.App/jobs" or "Microsoft.App/containerApps"))
            Assert.Null((app["properties"]?["configuration"] as JsonObject)?["secrets"]);

        // Provision reads no key at all: the blobs_extension key of the Event Grid webhook is read by ARM in the
        // template the postdeploy hook deploys (infra/hooks/blob-events-subscription.bicep, BlobEventsTests).
        Assert.DoesNotContain("listKeys", InfraTemplate.Text(template), StringComparison.Ordinal);
    }

    // ---- the code side: settings are read through SettingNames only ------------------------------------------------

    private static readonly string[] s_hostSourceRoots = ["Functions", "Training/PredGen.Cli", "Shared"];

    [GeneratedRegex(@"(?i)(\bconfig\w*\s*\[\s*""|\.(GetSection|GetRequiredSection|GetConnectionString|BindConfiguration)\(\s*""|\bconfig\w*\.GetValue(<[^>]*>)?\(\s*""|[(,]\s*Connection\s*=\s*""|Environment\.GetEnvironmentVariable\(\s*""(?!DOTNET_|ASPNETCORE_))")]
    private static partial Regex LiteralSettingRead();

    internal static IEnumerable<(string File, int Line, string Text)> HostSourceLines()
    {
        string root = TestPaths.RepositoryRoot();
        foreach (string dir in s_hostSourceRoots.Select(d => Path.Combine(root, d)).Where(Directory.Exists))
            foreach (string file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(root, file).Replace('\\', '/');
                if (rel.Contains("/bin/", StringComparison.Ordinal) || rel.Contains("/obj/", StringComparison.Ordinal)) continue;
                int n = 0;
                foreach (string line in File.ReadLines(file)) yield return (rel, ++n, line);
            }
    }

    [Fact]
    public void Hosts_read_settings_through_SettingNames_not_string_literals()
    {
        var literals = HostSourceLines()
            .Where(l => !l.File.StartsWith("Shared/Configuration/", StringComparison.Ordinal))
            .Where(l => !l.Text.TrimStart().StartsWith("//", StringComparison.Ordinal) && LiteralSettingRead().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.Empty(literals);
    }

    [GeneratedRegex(@"\bSettingNames\.(\w+)")]
    private static partial Regex SettingNamesUse();

    [Fact]
    public void Settings_used_by_a_host_project_are_declared_for_that_host()
    {
        // A key read in Functions/ must be provided to the Functions app (or have a default: SettingHosts.None);
        // one read in Training/PredGen.Cli to the training job or the prediction worker.
        var declared = DeclaredSettings().ToDictionary(s => s.Field, s => s.Hosts);
        var wrong = new List<string>();
        foreach (var (file, line, text) in HostSourceLines())
        {
            SettingHosts expected = file.StartsWith("Functions/", StringComparison.Ordinal) ? SettingHosts.FunctionsApp
                : file.StartsWith("Training/", StringComparison.Ordinal) ? SettingHosts.Workers
                : SettingHosts.None;
            if (expected == SettingHosts.None) continue;
            foreach (Match m in SettingNamesUse().Matches(text))
            {
                string field = m.Groups[1].Value;
                if (field == nameof(SettingNames.AsEnvironmentVariable) || field.EndsWith("Section", StringComparison.Ordinal)) continue;
                if (!declared.TryGetValue(field, out var hosts)) continue; // not a key (compiler checks the name exists)
                if (hosts != SettingHosts.None && (hosts & expected) == 0)
                    wrong.Add($"{file}:{line}: SettingNames.{field} is declared for {hosts}, but {expected} reads it");
            }
        }

        Assert.Empty(wrong);
    }
}
