using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PredGen.Shared.Configuration;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Workflows.Activities;
using PredGen.Workflows.Retrain;

namespace PredGen.Functions;

/// <summary>What the workflow activities need in the Functions app: the artifact store and the job dispatcher,
/// both from settings (SettingNames), identity-based in Azure.</summary>
public static class WorkflowServices
{
    public static IServiceCollection AddPredGenWorkflows(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? clientId = configuration[SettingNames.ManagedIdentityClientId];
        services.AddSingleton(_ => ArtifactStoreFactory.Create(
            configuration[SettingNames.Storage] ?? throw new InvalidOperationException($"setting '{SettingNames.Storage}' is missing"), clientId));
        services.AddSingleton<IJobDispatcher>(_ => CreateDispatcher(configuration));
        services.AddSingleton(_ => RetrainDefaults.From(key => configuration[key]));
        services.AddTransient<PrepareDatasetActivity>();
        services.AddTransient<DispatchJobActivity>();
        services.AddTransient<GetJobStatusActivity>();
        services.AddTransient<GetJobStartActivity>();
        services.AddTransient<ReadChampionActivity>();
        services.AddTransient<BuildReportActivity>();
        services.AddTransient<PromoteChampionActivity>();
        return services;
    }

    public static IJobDispatcher CreateDispatcher(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string transport = configuration[SettingNames.JobsTransport] ?? JobSettings.StorageQueueTransport;
        string queue = configuration[SettingNames.JobsQueue] ?? JobSettings.DefaultQueue;
        return transport switch
        {
            JobSettings.ServiceBusTransport => new ServiceBusJobDispatcher(
                JobQueues.ServiceBus(configuration[SettingNames.ServiceBusNamespace] ?? throw new InvalidOperationException($"setting '{SettingNames.ServiceBusNamespace}' is missing")).CreateSender(queue)),
            JobSettings.StorageQueueTransport => new StorageQueueJobDispatcher(JobQueues.StorageQueue(
                configuration[SettingNames.StorageQueues] ?? throw new InvalidOperationException($"setting '{SettingNames.StorageQueues}' is missing"), queue)),
            _ => throw new InvalidOperationException($"{SettingNames.JobsTransport} '{transport}' is not one of {JobSettings.ServiceBusTransport}, {JobSettings.StorageQueueTransport}"),
        };
    }
}
