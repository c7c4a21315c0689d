using System.Text.Json;
using PredGen.Shared.Storage;
using PredGen.Workflows.Reporting;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Activities;

/// <summary>Stores the run summary (BlobLayout.RunSummary) and builds the HTML + Markdown report from it.</summary>
public sealed class BuildReportActivity(IArtifactStore store) : TaskActivity<RunSummary, ReportLinks>
{
    internal static readonly JsonSerializerOptions SummaryJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public override Task<ReportLinks> RunAsync(TaskActivityContext context, RunSummary input) => ExecuteAsync(input);

    public async Task<ReportLinks> ExecuteAsync(RunSummary input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        await store.WriteTextAsync(BlobLayout.RunSummary(input.Task, input.RunId), JsonSerializer.Serialize(input, SummaryJson), cancellationToken).ConfigureAwait(false);
        return await ReportBuilder.BuildAsync(store, input, cancellationToken).ConfigureAwait(false);
    }
}
