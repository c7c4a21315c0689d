using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using PredGen.Functions;
using PredGen.Shared.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddPredGenWorkflows(builder.Configuration);

// Telemetry (host.json "telemetryMode": "OpenTelemetry"): the worker's invocation traces and logs through OpenTelemetry,
// exported to Application Insights with the app's managed identity, as the container hosts export theirs.
var telemetry = builder.Services.AddOpenTelemetry().UseFunctionsWorkerDefaults();
if (AzureMonitorTelemetry.From(key => builder.Configuration[key]) is { } azureMonitor)
{
    telemetry.WithTracing(t => azureMonitor.AddTracing(t));
    azureMonitor.AddLogging(builder.Logging);
}
builder.Build().Run();
