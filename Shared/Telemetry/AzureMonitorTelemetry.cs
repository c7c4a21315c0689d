using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using PredGen.Shared.Configuration;

namespace PredGen.Shared.Telemetry;

/// <summary>
/// Every host's telemetry to Application Insights through the Azure Monitor OpenTelemetry exporter, one way for all:
/// the container hosts (logs; the prediction worker's PredGen.Serving metrics) and the Functions app (logs and traces,
/// on top of the Functions worker's OpenTelemetry defaults). Authenticated with the host's managed identity: the
/// component has local (instrumentation-key) auth disabled, so ingestion needs an Entra token (Monitoring Metrics
/// Publisher, infra rbac). Active only when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure); local runs keep
/// the console.
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

    public TracerProviderBuilder AddTracing(TracerProviderBuilder tracing)
    {
        ArgumentNullException.ThrowIfNull(tracing);
        return tracing.AddAzureMonitorTraceExporter(Configure);
    }
}
