using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using PredGen.Shared.Configuration;

namespace PredGen.Cli.Telemetry;

/// <summary>
/// The container hosts' telemetry (logs; the prediction worker's PredGen.Serving metrics) to Application Insights
/// through the Azure Monitor OpenTelemetry exporter, authenticated with the host's managed identity: the component has
/// local (instrumentation-key) auth disabled, so ingestion needs an Entra token (Monitoring Metrics Publisher, infra
/// rbac). Active only when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure); local runs keep the console.
/// </summary>
public sealed record AzureMonitorTelemetry(string ConnectionString, TokenCredential Credential)
{
    /// <summary>From the settings; null when no connection string is configured.</summary>
    public static AzureMonitorTelemetry? From(Func<string, string?> setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        string? connection = setting(SettingNames.ApplicationInsightsConnectionString);
        if (string.IsNullOrWhiteSpace(connection)) return null;
        var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = setting(SettingNames.ManagedIdentityClientId) });
        return new AzureMonitorTelemetry(connection, credential);
    }

    private void Configure(AzureMonitorExporterOptions options)
    {
        options.ConnectionString = ConnectionString;
        options.Credential = Credential;
    }

    public void AddLogging(ILoggingBuilder logging)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.AddOpenTelemetry(o =>
        {
            o.IncludeFormattedMessage = true;
            o.AddAzureMonitorLogExporter(Configure);
        });
    }

    public MeterProviderBuilder AddMetrics(MeterProviderBuilder metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics.AddAzureMonitorMetricExporter(Configure);
    }
}
