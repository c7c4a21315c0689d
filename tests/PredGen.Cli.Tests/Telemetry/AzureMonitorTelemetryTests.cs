using Azure.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Telemetry;
using PredGen.Shared.Configuration;

namespace PredGen.Cli.Tests.Telemetry;

/// <summary>The containers' telemetry reaches Application Insights with the managed identity (issue 13, item 7).</summary>
public sealed class AzureMonitorTelemetryTests
{
    private const string ConnectionString = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://localhost/";

    [Fact]
    public void Without_a_connection_string_nothing_is_exported()
    {
        Assert.Null(AzureMonitorTelemetry.From(_ => null));
        Assert.Null(AzureMonitorTelemetry.From(_ => " "));
    }

    [Fact]
    public void With_a_connection_string_logs_are_exported_with_the_hosts_managed_identity()
    {
        var settings = new Dictionary<string, string?>
        {
            [SettingNames.ApplicationInsightsConnectionString] = ConnectionString,
            [SettingNames.ManagedIdentityClientId] = "11111111-1111-1111-1111-111111111111",
        };

        var telemetry = AzureMonitorTelemetry.From(k => settings.GetValueOrDefault(k));

        Assert.NotNull(telemetry);
        Assert.Equal(ConnectionString, telemetry.ConnectionString);
        Assert.IsType<DefaultAzureCredential>(telemetry.Credential);
        using var provider = new ServiceCollection().AddLogging(telemetry.AddLogging).BuildServiceProvider();
        Assert.Contains(provider.GetServices<ILoggerProvider>(), p => p.GetType().FullName == "OpenTelemetry.Logs.OpenTelemetryLoggerProvider");
    }
}
