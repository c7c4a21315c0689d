using PredGen.Shared.Configuration;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using PredGen.Shared.Telemetry;
using PredGen.Shared.Predictions;
using PredGen.Shared.Storage;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Serving;

/// <summary>
/// Builds the prediction worker host from configuration (environment variables in Azure, command-line options
/// locally). Every setting it reads is named in <see cref="ServingSettingNames"/>.
/// </summary>
public static class ServingHost
{
    public static IHost Build(IEnumerable<KeyValuePair<string, string?>> overrides, Action<IServiceCollection>? configure = null,
        LogLevel minimumLogLevel = LogLevel.Information)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(overrides);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(minimumLogLevel);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        AddPredictionWorker(builder.Services, builder.Configuration);
        configure?.Invoke(builder.Services);
        builder.Services.TryAddSingleton<IPredictionEngineLoader>(sp => new TrainedModelEngineLoader(sp.GetRequiredService<TorchOptions>()));
        return builder.Build();
    }

    public static void AddPredictionWorker(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(ServingOptions.SectionName).Get<ServingOptions>() ?? new ServingOptions();
        if (string.IsNullOrEmpty(options.Task))
            throw new InvalidOperationException($"Set {SettingNames.ServingTask} (--task): the task whose champion to serve.");
        BlobLayout.Segment(options.Task, "task");
        string storage = configuration[SettingNames.Storage]
            ?? throw new InvalidOperationException($"Set {SettingNames.Storage} (--storage): a folder, a connection string or a blob service URL.");
        string? clientId = configuration[SettingNames.ManagedIdentityClientId];

        services.AddSingleton(options);
        services.AddSingleton(configuration.GetSection(SettingNames.TorchSection).Get<TorchOptions>() ?? new TorchOptions());
        services.AddSingleton(_ => ArtifactStoreFactory.Create(storage, clientId));
        services.AddMetrics();
        services.AddSingleton<ServingMetrics>();
        services.AddSingleton<ServingModelSlot>();
        services.AddSingleton<DynamicBatcher>();
        services.AddSingleton(new PredictionRequestParser(new HashSet<string>(StringComparer.Ordinal) { options.Task }, options.MaxTextLength));
        services.AddSingleton<PredictionProcessor>();
        services.AddSingleton<ChampionWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ChampionWatcher>());

        if (configuration.GetValue<bool>(SettingNames.ServingConsoleMetrics))
            services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(ServingMetrics.MeterName).AddConsoleExporter());
        // In Azure: logs and the serving metrics to Application Insights with the managed identity.
        if (AzureMonitorTelemetry.From(key => configuration[key]) is { } azureMonitor)
        {
            services.AddLogging(azureMonitor.AddLogging);
            services.AddOpenTelemetry().WithMetrics(m => azureMonitor.AddMetrics(m.AddMeter(ServingMetrics.MeterName)));
        }

        switch (options.Transport)
        {
            case ServingOptions.StorageQueueTransport:
                services.AddSingleton(_ => CreateQueueServiceClient(configuration, storage, clientId));
                services.AddSingleton<StorageQueuePredictionWorker>();
                services.AddHostedService(sp => sp.GetRequiredService<StorageQueuePredictionWorker>());
                break;
            case ServingOptions.ServiceBusTransport:
                services.AddSingleton(_ => CreateServiceBusClient(configuration, clientId));
                services.AddSingleton<ServiceBusReplySender>();
                services.AddSingleton<IReplySender>(sp => sp.GetRequiredService<ServiceBusReplySender>());
                services.AddSingleton<ServiceBusRequestHandler>();
                services.AddHostedService<ServiceBusPredictionWorker>();
                break;
            default:
                throw new InvalidOperationException(
                    $"{SettingNames.ServingTransport} is '{options.Transport}'; use {ServingOptions.StorageQueueTransport} or {ServingOptions.ServiceBusTransport}.");
        }
    }

    /// <summary>Queues named by SettingNames.StorageQueues (connection string or queue endpoint); without it, the queues
    /// of the account that a Storage connection string names (local runs on Azurite).</summary>
    public static QueueServiceClient CreateQueueServiceClient(IConfiguration configuration, string storage, string? clientId)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? queues = configuration[SettingNames.StorageQueues];
        if (string.IsNullOrEmpty(queues) && StorageQueueClients.IsConnectionString(storage)) queues = storage;
        if (string.IsNullOrEmpty(queues))
            throw new InvalidOperationException($"Set {SettingNames.StorageQueues} (--queues) for the storage-queue transport: a connection string or https://{{account}}.queue.core.windows.net.");
        return StorageQueueClients.Create(queues, clientId);
    }

    public static ServiceBusClient CreateServiceBusClient(IConfiguration configuration, string? clientId)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? ns = configuration[SettingNames.ServiceBusNamespace];
        if (string.IsNullOrEmpty(ns))
            throw new InvalidOperationException($"Set {SettingNames.ServiceBusNamespace} (--service-bus-namespace) for the service-bus transport; it authenticates with the managed identity.");
        return new ServiceBusClient(ns, new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId }));
    }
}
