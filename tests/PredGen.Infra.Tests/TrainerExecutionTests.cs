using PredGen.Shared.Configuration;
using PredGen.Shared.Jobs;

namespace PredGen.Infra.Tests;

/// <summary>The trainer's worker knows its execution's replicaTimeout, and one whole job fits in it (issue 13, item 5).</summary>
public sealed class TrainerExecutionTests
{
    [Fact]
    public async Task The_worker_is_told_the_replica_timeout_the_job_runs_under_and_a_whole_job_fits()
    {
        var template = await BicepCli.MainTemplateAsync();
        var settings = InfraTemplate.Settings(template, SettingHosts.TrainingJob);
        string timeoutSetting = settings[SettingNames.AsEnvironmentVariable(SettingNames.WorkerExecutionTimeoutSeconds)];
        string? replicaTimeout = (string?)InfraTemplate.Module(template, "trainer-job")["properties"]!["parameters"]!["replicaTimeoutSeconds"]!["value"];

        Assert.Equal("[variables('trainerReplicaTimeoutSeconds')]", replicaTimeout);
        Assert.Equal("\"[string(variables('trainerReplicaTimeoutSeconds'))]\"", timeoutSetting);
        int seconds = (int)template["variables"]!["trainerReplicaTimeoutSeconds"]!;
        Assert.True(TimeSpan.FromSeconds(seconds) >= ExecutionBudget.DefaultJobBudget, $"replicaTimeout {seconds} s is shorter than one job");
        string job = InfraTemplate.Text(InfraTemplate.ModuleTemplate(template, "trainer-job"));
        Assert.Contains("\"replicaTimeout\":\"[parameters('replicaTimeoutSeconds')]\"", job, StringComparison.Ordinal);
    }
}
