using System.Text.RegularExpressions;
using PredGen.TestSupport;
using YamlDotNet.RepresentationModel;

namespace PredGen.Infra.Tests;

/// <summary>azure.yaml names only projects, Dockerfiles and hooks that exist, and matches the Bicep's azd-service-name tags.</summary>
public sealed partial class AzureYamlTests
{
    private static readonly string s_root = TestPaths.RepositoryRoot();

    private static YamlMappingNode AzureYaml()
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(s_root, "azure.yaml"));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlNode? Get(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlNode? node, string key) => (Get(node, key) as YamlScalarNode)?.Value;

    private static IEnumerable<(string Name, YamlMappingNode Service)> Services() =>
        ((YamlMappingNode)Get(AzureYaml(), "services")!).Children.Select(c => (((YamlScalarNode)c.Key).Value!, (YamlMappingNode)c.Value));

    // azd resolves a service's docker path and context relative to its project folder.
    private static string ProjectDirectory(YamlMappingNode service)
    {
        string project = Path.GetFullPath(Path.Combine(s_root, Scalar(service, "project")!));
        return File.Exists(project) ? Path.GetDirectoryName(project)! : project;
    }

    [Fact]
    public void Azure_yaml_declares_the_functions_app_the_trainer_and_the_prediction_worker()
    {
        var services = Services().ToDictionary(s => s.Name, s => s.Service);

        Assert.Equal(["functions", "prediction-worker", "trainer"], services.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("function", Scalar(services["functions"], "host"));
        Assert.Equal("containerapp", Scalar(services["trainer"], "host"));
        Assert.Equal("containerapp", Scalar(services["prediction-worker"], "host"));
        Assert.Equal("infra", Scalar(Get(AzureYaml(), "infra"), "path"));
    }

    [Fact]
    public void Every_service_project_is_an_existing_dotnet_project()
    {
        var missing = Services()
            .Where(s => !Directory.Exists(ProjectDirectory(s.Service)) || !Directory.EnumerateFiles(ProjectDirectory(s.Service), "*.csproj").Any())
            .Select(s => $"{s.Name}: {Scalar(s.Service, "project")}")
            .ToList();

        Assert.Empty(missing);
    }

    [Fact]
    public void Every_Dockerfile_and_build_context_named_in_azure_yaml_exists()
    {
        var docker = Services().Where(s => Get(s.Service, "docker") is not null).ToList();
        Assert.Equal(2, docker.Count);
        foreach (var (name, service) in docker)
        {
            var config = Get(service, "docker");
            string dockerfile = Path.GetFullPath(Path.Combine(ProjectDirectory(service), Scalar(config, "path")!));
            string context = Path.GetFullPath(Path.Combine(ProjectDirectory(service), Scalar(config, "context") ?? "."));
            Assert.True(File.Exists(dockerfile), $"{name}: no Dockerfile at {dockerfile}");
            Assert.True(Directory.Exists(context), $"{name}: no build context {context}");
            Assert.True(File.Exists(Path.Combine(context, ".dockerignore")), $"{name}: no .dockerignore in {context}");
            // Everything the Dockerfile publishes is inside the context (paths are context-relative).
            foreach (Match m in PublishedProject().Matches(File.ReadAllText(dockerfile)))
                Assert.True(File.Exists(Path.Combine(context, m.Groups[1].Value)), $"{name}: publishes {m.Groups[1].Value}, not in the context");
        }
    }

    [Fact]
    public void Every_hook_script_exists()
    {
        var hooks = (YamlMappingNode?)Get(AzureYaml(), "hooks");
        Assert.NotNull(hooks);
        var scripts = hooks.Children.Values.SelectMany(h => new[] { Get(h, "posix"), Get(h, "windows"), h })
            .Select(h => Scalar(h, "run")).OfType<string>().Distinct().ToList();

        Assert.NotEmpty(scripts);
        foreach (string script in scripts) Assert.True(File.Exists(Path.Combine(s_root, script)), $"hook script {script} missing");
    }

    [Fact]
    public void Azd_version_is_pinned_to_one_that_deploys_container_apps_jobs()
    {
        // azure-dev PR 7001 (release 1.23.8) taught `host: containerapp` to deploy Microsoft.App/jobs.
        string? required = Scalar(Get(AzureYaml(), "requiredVersions"), "azd");
        Assert.NotNull(required);
        var version = Version.Parse(Regex.Match(required, @"\d+\.\d+\.\d+").Value);
        Assert.StartsWith(">=", required.Trim(), StringComparison.Ordinal);
        Assert.True(version >= new Version(1, 23, 8), $"azd {required}");
    }

    [Fact]
    public async Task Every_service_has_exactly_one_bicep_resource_tagged_with_its_name()
    {
        var template = await BicepCli.MainTemplateAsync();
        var tagged = InfraTemplate.AllResources(template)
            .Select(r => (Type: (string?)r["type"], Tag: InfraTemplate.Text(r["tags"])))
            .ToList();

        foreach (var (name, service) in Services())
        {
            string expectedType = Scalar(service, "host") == "function" ? "Microsoft.Web/sites" : "";
            var matches = tagged.Where(t => t.Tag.Contains($"\"azd-service-name\":\"{name}\"", StringComparison.Ordinal)
                                         || t.Tag.Contains($"'azd-service-name', '{name}'", StringComparison.Ordinal)).ToList();
            Assert.True(matches.Count == 1, $"{name}: {matches.Count} resources tagged");
            if (expectedType.Length > 0) Assert.Equal(expectedType, matches[0].Type);
            else Assert.True(matches[0].Type is "Microsoft.App/containerApps" or "Microsoft.App/jobs", $"{name}: tagged {matches[0].Type}");
        }
    }

    [Fact]
    public void Images_run_dotnet_10_on_ubuntu_noble_as_a_non_root_user_and_the_trainer_is_the_cuda_build()
    {
        foreach (var (name, service) in Services().Where(s => Get(s.Service, "docker") is not null))
        {
            string dockerfile = File.ReadAllText(Path.GetFullPath(Path.Combine(ProjectDirectory(service), Scalar(Get(service, "docker"), "path")!)));
            var stages = FromLine().Matches(dockerfile).Select(m => m.Groups[1].Value).ToList();

            Assert.True(stages.Count >= 2, $"{name}: multi-stage build expected");
            // noble's libstdc++ has GLIBCXX_3.4.32 (libLibTorchSharp.so needs it).
            Assert.Matches(@"^mcr\.microsoft\.com/dotnet/runtime:\$\{DOTNET_VERSION\}-noble$|^mcr\.microsoft\.com/dotnet/runtime:10\.0-noble$", stages[^1]);
            Assert.Contains("ARG DOTNET_VERSION=10.0", dockerfile, StringComparison.Ordinal);
            var user = UserLine().Matches(dockerfile).Select(m => m.Groups[1].Value).LastOrDefault();
            Assert.True(user is "$APP_UID" or "app" or "1654", $"{name}: USER {user}");
        }
        string trainer = File.ReadAllText(Path.Combine(s_root, "Training", "Dockerfile.trainer"));
        Assert.Contains("-p:TorchBackend=cuda", trainer, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"dotnet publish\s+(\S+\.csproj)")]
    private static partial Regex PublishedProject();

    [GeneratedRegex(@"(?m)^FROM\s+(\S+)")]
    private static partial Regex FromLine();

    [GeneratedRegex(@"(?m)^USER\s+(\S+)")]
    private static partial Regex UserLine();
}
