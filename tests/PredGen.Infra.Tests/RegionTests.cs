using System.Text.RegularExpressions;
using PredGen.TestSupport;

namespace PredGen.Infra.Tests;

/// <summary>Where PredGen can be deployed, and the GPU profile that cannot change (issue 13, item 4).</summary>
public sealed class RegionTests
{
    private static readonly string s_root = TestPaths.RepositoryRoot();

    [Fact]
    public async Task Location_is_limited_to_regions_with_flex_dotnet_10_and_serverless_gpus_and_each_is_documented()
    {
        var template = await BicepCli.MainTemplateAsync();
        var allowed = template["parameters"]!["location"]!["allowedValues"]!.AsArray().Select(v => (string)v!).ToList();
        string deploy = File.ReadAllText(Path.Combine(s_root, "docs", "DEPLOY.md"));

        Assert.Equal(["australiaeast", "swedencentral", "westus3"], allowed.Order(StringComparer.Ordinal));
        foreach (string region in allowed) Assert.Contains($"`{region}`", deploy, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("preprovision.sh")]
    [InlineData("preprovision.ps1")]
    public async Task The_preprovision_hook_maps_each_gpu_type_to_the_profile_the_environment_module_creates(string script)
    {
        // The hook compares the existing environment's GPU profile with PREDGEN_GPU_TYPE: both sides must name the
        // same profile types as infra/app/container-apps-environment.bicep, and main.bicep must output the live one.
        string text = File.ReadAllText(Path.Combine(s_root, "infra", "hooks", script));
        var template = await BicepCli.MainTemplateAsync();
        var profiles = InfraTemplate.ModuleTemplate(template, "container-apps-environment")["parameters"]!["gpuProfileType"]!["allowedValues"]!
            .AsArray().Select(v => (string)v!).ToList();
        var gpuTypes = template["parameters"]!["gpuType"]!["allowedValues"]!.AsArray().Select(v => (string)v!).ToList();

        Assert.Equal(gpuTypes.Count, profiles.Count);
        foreach (string profile in profiles) Assert.Contains(profile, text, StringComparison.Ordinal);
        foreach (string gpu in gpuTypes) Assert.Matches(new Regex($@"'?{gpu}'?\)?\s*(\{{|wanted=)"), text);
        Assert.Contains("PREDGEN_GPU_TYPE", text, StringComparison.Ordinal);
        Assert.NotNull(template["outputs"]!["PREDGEN_CONTAINER_APPS_GPU_PROFILE_TYPE"]);
        Assert.NotNull(template["outputs"]!["AZURE_CONTAINER_APPS_ENVIRONMENT_NAME"]);
        Assert.Contains("./infra/hooks/" + script, File.ReadAllText(Path.Combine(s_root, "azure.yaml")), StringComparison.Ordinal);
    }
}
