using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Reporting;

/// <summary>Artifact paths of a run's report (BlobLayout.ReportHtml / ReportMarkdown / ReportAsset).</summary>
public sealed record ReportLinks(string HtmlPath, string MarkdownPath)
{
    /// <summary>The plots beside the report (images/*.png), which report.md links; index.html embeds the same PNGs.</summary>
    public IReadOnlyList<string> ImagePaths { get; init; } = [];
}

/// <summary>The rendered report before it is stored.</summary>
public sealed record RenderedReport(string Html, string Markdown, IReadOnlyList<ReportImage> Images);

/// <summary>
/// Builds the report of a retraining run in reports/{task}/{runId}/: index.html, self-contained (CSS inline, plots as
/// data: URIs, so it opens offline and from a blob download), report.md with the same content (plots linked as
/// images/*.png, written beside it).
/// </summary>
public static class ReportBuilder
{
    /// <summary>Loads what the summary points to (curves, predictions, MINE details, data stats) and builds the report.</summary>
    public static async Task<ReportLinks> BuildAsync(IArtifactStore store, RunSummary summary, CancellationToken cancellationToken = default)
    {
        var report = await RunReportLoader.LoadAsync(store, summary, cancellationToken).ConfigureAwait(false);
        return await BuildAsync(store, report, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<ReportLinks> BuildAsync(IArtifactStore store, RunReport report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(report);
        var rendered = Render(report);
        var images = new List<string>();
        foreach (var image in rendered.Images)
        {
            string path = BlobLayout.ReportAsset(report.Task, report.RunId, image.FileName);
            await store.WriteAsync(path, BinaryData.FromBytes(image.Png), cancellationToken).ConfigureAwait(false);
            images.Add(path);
        }
        var links = new ReportLinks(BlobLayout.ReportHtml(report.Task, report.RunId), BlobLayout.ReportMarkdown(report.Task, report.RunId)) { ImagePaths = images };
        await store.WriteTextAsync(links.MarkdownPath, rendered.Markdown, cancellationToken).ConfigureAwait(false);
        // The page last: its presence means the report is complete.
        await store.WriteTextAsync(links.HtmlPath, rendered.Html, cancellationToken).ConfigureAwait(false);
        return links;
    }

    /// <summary>Renders the page, the Markdown and the plots (pure: no I/O).</summary>
    public static RenderedReport Render(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var model = ReportContent.From(report);
        return new RenderedReport(HtmlReportWriter.Write(model), MarkdownReportWriter.Write(model), model.Images);
    }
}
