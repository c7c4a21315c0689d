using System.Buffers.Binary;
using System.Text.RegularExpressions;
using PredGen.Shared.Data;
using PredGen.Shared.Storage;
using PredGen.TestSupport;
using PredGen.Workflows.Reporting;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests.Reporting;

public sealed partial class ReportBuilderTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-report-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FileSystemArtifactStore _store;

    public ReportBuilderTests() => _store = new FileSystemArtifactStore(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [GeneratedRegex("<img [^>]*src=\"data:image/png;base64,[A-Za-z0-9+/=]{200,}\"")]
    private static partial Regex EmbeddedPng();

    [GeneratedRegex("(src|href)=\"(?!data:|#)[^\"]*\"|url\\((?!data:)")]
    private static partial Regex ExternalReference();

    [Theory]
    [InlineData("classification")]
    [InlineData("regression")]
    public async Task The_report_opens_in_headless_chromium_with_the_comparison_table_and_every_plot(string kind)
    {
        var report = kind == "classification" ? SampleReports.Classification() : SampleReports.Regression();
        var links = await ReportBuilder.BuildAsync(_store, report);
        string page = _store.LocalPath(links.HtmlPath);
        var chromium = HeadlessChromium.Find();

        string dom = await chromium.DumpDomAsync(new Uri(page).AbsoluteUri);
        string artifacts = TestPaths.ArtifactDirectory("report");
        string screenshot = Path.Combine(artifacts, $"{kind}.png");
        await chromium.ScreenshotAsync(new Uri(page).AbsoluteUri, screenshot);
        File.Copy(page, Path.Combine(artifacts, $"{kind}.html"), overwrite: true);
        File.Copy(_store.LocalPath(links.MarkdownPath), Path.Combine(artifacts, $"{kind}.md"), overwrite: true);

        // The comparison table with one row per method, every plot embedded, failed jobs marked.
        Assert.Contains("<table class=\"comparison\">", dom, StringComparison.Ordinal);
        string comparison = dom[dom.IndexOf("<table class=\"comparison\">", StringComparison.Ordinal)..];
        comparison = comparison[..comparison.IndexOf("</table>", StringComparison.Ordinal)];
        Assert.Equal(3, Regex.Count(comparison, "<tr") - 1);
        int expectedImages = links.ImagePaths.Count;
        Assert.True(expectedImages >= (kind == "classification" ? 5 : 7), $"only {expectedImages} plots");
        Assert.Equal(expectedImages, EmbeddedPng().Count(dom));
        if (kind == "classification")
        {
            Assert.Contains("badge failed", dom, StringComparison.Ordinal);
            Assert.Contains("out of memory", dom, StringComparison.Ordinal);
            Assert.Contains("<table class=\"cm\">", dom, StringComparison.Ordinal);
            Assert.Contains("malformed_csv", dom, StringComparison.Ordinal);
        }
        else Assert.Contains("predicted vs true", dom, StringComparison.Ordinal);

        // The screenshot is a real 1280x2000 PNG with content (not a blank page).
        byte[] png = await File.ReadAllBytesAsync(screenshot);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Equal((1280, 2000), ((int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)), (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20))));
        Assert.True(png.Length > 100_000, $"screenshot is only {png.Length} bytes");
    }

    [Fact]
    public async Task The_page_is_self_contained_and_the_markdown_links_images_written_beside_it()
    {
        var report = SampleReports.Classification();

        var links = await ReportBuilder.BuildAsync(_store, report);

        string html = (await _store.ReadTextAsync(links.HtmlPath))!;
        string markdown = (await _store.ReadTextAsync(links.MarkdownPath))!;
        Assert.Empty(ExternalReference().Matches(html).Select(m => m.Value));
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("reports/sentiment/run-20261125-0001/index.html", links.HtmlPath);
        foreach (var path in links.ImagePaths)
        {
            Assert.StartsWith("reports/sentiment/run-20261125-0001/images/", path, StringComparison.Ordinal);
            Assert.Contains("](images/" + path[(path.LastIndexOf('/') + 1)..] + ")", markdown, StringComparison.Ordinal);
            Assert.True(await _store.ExistsAsync(path));
        }
        Assert.Contains("| predgen | 3/3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| generator | 2/3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("**FAILED**", markdown, StringComparison.Ordinal);
        Assert.Contains("| `malformed_csv` | 109 | 4.1% |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Rendering_the_same_run_twice_gives_the_same_page()
    {
        var first = ReportBuilder.Render(SampleReports.Regression());
        var second = ReportBuilder.Render(SampleReports.Regression());

        Assert.Equal(first.Html, second.Html);
        Assert.Equal(first.Markdown, second.Markdown);
    }

    [Fact]
    public void The_comparison_is_mean_and_sample_std_over_successful_seeds_and_failed_jobs_are_counted_apart()
    {
        JobReport Job(string method, int seed, double? accuracy) => new()
        {
            JobId = $"{method}-{seed}", Method = method, Seed = seed, Status = accuracy.HasValue ? JobStatus.Ok : JobStatus.Failed,
            Error = accuracy.HasValue ? null : "boom",
            TestMetrics = accuracy.HasValue ? new Dictionary<string, double> { ["accuracy"] = accuracy.Value, ["count"] = 33 } : new Dictionary<string, double>(),
        };
        var report = new RunReport
        {
            Task = "t", RunId = "r", Kind = TaskKind.Classification,
            Jobs = [Job("predgen", 1, 0.8), Job("predgen", 2, 0.9), Job("predgen", 3, 1.0), Job("predictor", 1, 0.7), Job("predictor", 2, null)],
        };

        var comparison = MethodComparison.From(report);

        Assert.Equal(["predictor", "predgen"], comparison.Rows.Select(r => r.Method));
        Assert.Equal(["accuracy"], comparison.Metrics); // "count" is bookkeeping, not a metric
        var predgen = comparison.Rows[1];
        Assert.Equal((0.9, 0.1, 3), (Math.Round(predgen.Metrics["accuracy"].Mean, 12), Math.Round(predgen.Metrics["accuracy"].Std, 12), predgen.Metrics["accuracy"].Count));
        Assert.Equal("0.900 ± 0.100", predgen.Metrics["accuracy"].Format());
        Assert.Equal((1, 2), (comparison.Rows[0].OkJobs, comparison.Rows[0].TotalJobs));
        Assert.Equal("0.700", comparison.Rows[0].Metrics["accuracy"].Format());
        Assert.Equal("predgen", comparison.BestMethod());
        Assert.Equal(
            "method     jobs ok       accuracy\n" +
            "predictor      1/2          0.700\n" +
            "predgen        3/3  0.900 ± 0.100\n", comparison.ToText().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_representation_no_seed_could_estimate_reads_not_estimable_with_its_row_count_and_others_show_their_interval()
    {
        JobReport Job(int seed, params MiEstimate[] mi) => new()
        {
            JobId = $"predgen-{seed}", Method = "predgen", Seed = seed, Status = JobStatus.Ok,
            TestMetrics = new Dictionary<string, double> { ["accuracy"] = 0.8 }, MutualInformation = mi,
        };
        var report = new RunReport
        {
            Task = "t", RunId = "r", Kind = TaskKind.Classification,
            Jobs =
            [
                Job(1, new MiEstimate("pooled", 0.40, 0.30, 0.50, Rows: 1200, HeldOutRows: 240), new MiEstimate("token", 0, 0, 0, Estimable: false, Rows: 48, HeldOutRows: 10)),
                Job(2, new MiEstimate("pooled", 0, 0, 0, Estimable: false, Rows: 1200, HeldOutRows: 240), new MiEstimate("token", 0, 0, 0, Estimable: false, Rows: 48, HeldOutRows: 10)),
            ],
        };

        var page = ReportBuilder.Render(report);

        // Token-level: no seed could estimate, so no 0.000 and no [0.000, 0.000].
        Assert.Contains("| predgen | token | 2 | 48 (10) | not estimable with 48 rows | none |", page.Markdown, StringComparison.Ordinal);
        // Pooled: the seed that could estimate gives the estimate and its interval; the other is counted, not averaged in as 0.
        Assert.Contains("| predgen | pooled | 2 | 1200 (240) | 0.400 (1 of 2 seeds not estimable) | [0.300, 0.500] |", page.Markdown, StringComparison.Ordinal);
        Assert.Contains("not estimable with 48 rows", page.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("[0.000, 0.000]", page.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Training_curves_read_every_numeric_field_of_metrics_jsonl_and_survive_a_truncated_last_line()
    {
        string jsonl = """
            {"step": 10, "loss": 1.5, "l_w": 1.1, "l_d": 0.4, "p": 0.1, "lr": 0.0003}
            {"step": 20, "loss": 1.2, "split": "validation", "accuracy": 0.61}
            {"global_step": 30, "loss": 0.9, "note": "text is ignored"}
            {"step": 40, "loss": 0.
            """;

        var points = CurvePoint.FromMetricsJsonl(jsonl);

        Assert.Equal(
            [(10L, "loss", 1.5), (10L, "l_w", 1.1), (10L, "l_d", 0.4), (10L, "p", 0.1), (10L, "lr", 0.0003), (20L, "validation_loss", 1.2), (20L, "validation_accuracy", 0.61), (30L, "loss", 0.9)],
            points.Select(p => (p.Step, p.Metric, p.Value)));
    }

    [Fact]
    public async Task A_report_built_from_the_orchestration_summary_loads_curves_predictions_and_top_tokens_from_the_run()
    {
        const string task = "spam", run = "r1";
        await _store.WriteTextAsync(BlobLayout.JobMetrics(task, run, "predgen-s1"), "{\"step\":1,\"loss\":2.0}\n{\"step\":2,\"loss\":1.0}\n");
        await _store.WriteTextAsync(BlobLayout.JobTestPredictions(task, run, "predgen-s1"),
            "{\"id\":\"a\",\"label\":\"spam\",\"predicted_label\":\"spam\"}\n{\"id\":\"b\",\"label\":\"ham\",\"predicted_label\":\"spam\"}\n{\"id\":\"c\",\"label\":\"ham\",\"predicted_label\":\"ham\"}\n");
        await _store.WriteTextAsync(BlobLayout.Mine(task, run, "predgen-s1"), "{\"estimate_nats\":0.4,\"top_tokens\":{\"spam\":[{\"token\":\"free\",\"score\":0.5}]}}");
        var summary = new RunSummary
        {
            Task = task, RunId = run, Kind = TaskKind.Classification, DatasetPath = "datasets/spam/x.jsonl",
            Dataset = new PreparedDataset { Task = task, RunId = run, Kind = TaskKind.Classification, Labels = ["ham", "spam"] },
            Jobs =
            [
                new JobSummary("predgen-s1", "PredGen", 1, JobSummary.Succeeded, null, new Dictionary<string, double> { ["accuracy"] = 2 / 3.0 }, 12.5, BlobLayout.Job(task, run, "predgen-s1")),
                new JobSummary("predictor-s1", "Predictor", 1, JobSummary.Failed, "trainer crashed", new Dictionary<string, double>(), 0, BlobLayout.Job(task, run, "predictor-s1")),
            ],
            Mine = [new MineSummary("predgen-s1", "PredGen", "token", 0.4, 0.3, 0.5, "dv")],
            StartedAt = DateTimeOffset.UnixEpoch,
        };

        var report = await RunReportLoader.LoadAsync(_store, summary);
        var links = await ReportBuilder.BuildAsync(_store, summary);

        var job = report.Jobs[0];
        Assert.Equal([2.0, 1.0], job.Curve.Select(p => p.Value));
        Assert.Equal(3, job.Predictions.Count);
        Assert.Equal([new TokenAssociation("spam", "free", 0.5)], job.TopTokens);
        Assert.Equal([new MiEstimate("token", 0.4, 0.3, 0.5, "dv")], job.MutualInformation);
        Assert.Equal(JobStatus.Failed, report.Jobs[1].Status);
        string markdown = (await _store.ReadTextAsync(links.MarkdownPath))!;
        Assert.Contains("| ham | **1** | 1 |\n| spam | 0 | **1** |", markdown, StringComparison.Ordinal); // rows: true label, columns: predicted
        Assert.Contains("trainer crashed", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Plot_text_uses_the_embedded_font_so_machines_without_fonts_still_label_their_plots()
    {
        ReportFonts.EnsureRegistered();

        var regular = ScottPlot.Fonts.GetTypeface(ReportFonts.Family, bold: false, italic: false);
        var bold = ScottPlot.Fonts.GetTypeface(ReportFonts.Family, bold: true, italic: false);

        Assert.Equal("Liberation Sans", regular.FamilyName);
        Assert.True(bold.FontStyle.Weight >= (int)SkiaSharp.SKFontStyleWeight.Bold);
        Assert.True(regular.GlyphCount > 1000, $"{regular.GlyphCount} glyphs");
    }

    [Fact]
    public void Top_tokens_are_read_from_the_workers_token_analysis_with_npmi_as_the_score()
    {
        string mine = """
            {"estimate_nats": 0.4, "token_analysis": {"method": "word_presence_npmi", "labels": [
              {"label": "positive", "predicted": 12, "top_tokens": [{"token": "funny", "npmi": 0.47, "pmi": 1.2}, {"token": "pretty", "npmi": 0.34, "pmi": 0.9}]},
              {"label": "negative", "predicted": 9, "top_tokens": [{"token": "dull", "npmi": 0.51, "pmi": 1.4}]}]}}
            """;

        var tokens = RunReportLoader.ParseTopTokens(mine);

        Assert.Equal([new TokenAssociation("positive", "funny", 0.47), new TokenAssociation("positive", "pretty", 0.34), new TokenAssociation("negative", "dull", 0.51)], tokens);
    }
}
