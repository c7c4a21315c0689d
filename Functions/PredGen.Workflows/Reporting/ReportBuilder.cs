using System.Globalization;
using System.Net;
using System.Text;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Reporting;

/// <summary>Artifact paths of a run's report (BlobLayout.ReportHtml / ReportMarkdown).</summary>
public sealed record ReportLinks(string HtmlPath, string MarkdownPath);

// Minimal stand-in (pipeline helper) behind the names agreed in /work/coord/NOTES.md; the prepare-report helper owns
// the real report (plots, MI, data quality, Chromium test).
public static class ReportBuilder
{
    public static async Task<ReportLinks> BuildAsync(IArtifactStore store, RunSummary summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(summary);
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Run {summary.RunId} of task {summary.Task}\n\n| job | method | seed | status | metrics |\n|---|---|---|---|---|\n");
        foreach (var j in summary.Jobs)
            md.Append(CultureInfo.InvariantCulture, $"| {j.JobId} | {j.Method} | {j.Seed} | {j.Status} | {string.Join(", ", j.TestMetrics.Select(m => $"{m.Key}={m.Value:F4}"))}{j.Error} |\n");
        var links = new ReportLinks(BlobLayout.ReportHtml(summary.Task, summary.RunId), BlobLayout.ReportMarkdown(summary.Task, summary.RunId));
        await store.WriteTextAsync(links.MarkdownPath, md.ToString(), cancellationToken).ConfigureAwait(false);
        await store.WriteTextAsync(links.HtmlPath, "<!doctype html><html><body><pre>" + WebUtility.HtmlEncode(md.ToString()) + "</pre></body></html>", cancellationToken).ConfigureAwait(false);
        return links;
    }
}
