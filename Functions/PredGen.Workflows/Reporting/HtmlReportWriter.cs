using System.Globalization;
using System.Net;
using System.Text;
using PredGen.Shared.Data;

namespace PredGen.Workflows.Reporting;

/// <summary>The self-contained HTML page: inline CSS, plots as data: URIs, no script, no external resource.</summary>
internal static class HtmlReportWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private const string Css = """
        :root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f3f4f6; --card:#ffffff; --accent:#1d4ed8; --ok:#15803d; --bad:#b91c1c; }
        * { box-sizing: border-box; }
        body { margin:0; font: 14px/1.5 "Liberation Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
        header { background: linear-gradient(120deg, #0f172a, #1e3a8a); color: #fff; padding: 28px 40px 24px; }
        header h1 { margin: 0 0 6px; font-size: 26px; font-weight: 700; letter-spacing: .2px; }
        header .meta { color: #c7d2fe; font-size: 13px; }
        header .meta span { margin-right: 18px; }
        main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
        .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin: -44px 0 22px; }
        .card { background: var(--card); border-radius: 10px; padding: 14px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 4px 14px rgba(0,0,0,.04); }
        .card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
        .card .value { font-size: 20px; font-weight: 700; margin-top: 2px; }
        .card .sub { color: var(--muted); font-size: 12.5px; }
        section { background: var(--card); border-radius: 10px; padding: 18px 22px 20px; margin-bottom: 18px; box-shadow: 0 1px 3px rgba(0,0,0,.06); }
        h2 { font-size: 18px; margin: 0 0 12px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
        h3 { font-size: 15px; margin: 16px 0 8px; }
        p.note { color: var(--muted); margin: 6px 0 10px; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
        th { background: #f9fafb; font-weight: 600; color: #374151; font-size: 12.5px; text-transform: uppercase; letter-spacing: .4px; }
        th:first-child, td:first-child, td.text, th.text { text-align: left; }
        tr.failed td { background: #fef2f2; }
        tr.floor td { background: #f9fafb; font-style: italic; }
        p.verdict { font-weight: 600; margin: 10px 0 4px; }
        td.best { font-weight: 700; color: var(--accent); }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
        .badge.ok { background: #dcfce7; color: var(--ok); }
        .badge.failed { background: #fee2e2; color: var(--bad); }
        .badge.promoted { background: #dbeafe; color: var(--accent); }
        .error { color: var(--bad); font-size: 12.5px; text-align: left; max-width: 420px; word-break: break-word; }
        .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
        .grid { display: grid; grid-template-columns: repeat(2, 1fr); gap: 14px; }
        .grid3 { display: grid; grid-template-columns: repeat(3, 1fr); gap: 14px; }
        figure { margin: 0; }
        figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
        figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
        table.cm { width: auto; margin-bottom: 8px; }
        table.cm td { text-align: center; min-width: 54px; }
        table.cm th { text-transform: none; letter-spacing: 0; font-size: 13px; }
        .two { display: grid; grid-template-columns: 1fr 1fr; gap: 22px; }
        .muted { color: var(--muted); }
        footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 8px; }
        """;

    public static string Write(ReportContent c)
    {
        var r = c.Report;
        var h = new StringBuilder(64 * 1024);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"PredGen.Serverless\">\n");
        h.Append("<title>").Append(E($"PredGen report: {r.Task} / {r.RunId}")).Append("</title>\n<style>\n").Append(Css).Append("\n</style>\n</head>\n<body>\n");

        h.Append("<header>\n<h1>").Append(E($"Retraining report: {r.Task}")).Append("</h1>\n<div class=\"meta\">");
        h.Append("<span>run <b>").Append(E(r.RunId)).Append("</b></span>");
        h.Append("<span>").Append(E(r.Kind == TaskKind.Classification ? "classification" : "regression")).Append("</span>");
        if (r.DatasetPath != null) h.Append("<span>").Append(E(r.DatasetPath)).Append("</span>");
        if (r.StartedAt is { } started) h.Append("<span>started ").Append(E(started.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv))).Append("</span>");
        if (r.Timings.Count > 0) h.Append("<span>took ").Append(E(Duration(r.Timings.Sum(t => t.Seconds)))).Append("</span>");
        h.Append("</div>\n</header>\n<main>\n");

        Cards(h, c);
        Comparison(h, c);
        Trials(h, c);
        Curves(h, c);
        MutualInformation(h, c);
        Predictions(h, c);
        TopTokens(h, c);
        DataQuality(h, c);
        SettingsAndTimings(h, c);

        h.Append("<footer>Generated by PredGen.Serverless. Metrics are on the held-out test split; ± is the sample standard deviation over seeds.</footer>\n");
        h.Append("</main>\n</body>\n</html>\n");
        return h.ToString();
    }

    private static void Cards(StringBuilder h, ReportContent c)
    {
        var r = c.Report;
        h.Append("<div class=\"cards\">\n");
        var champion = r.Champion;
        if (champion == null) Card(h, "Champion", "—", "no decision recorded");
        else if (champion.Promote)
            Card(h, "Champion", $"{champion.CandidateMethod ?? champion.CandidateJobId}", $"promoted · {champion.Metric} {Num(champion.CandidateValue)}" + (champion.CurrentValue is double cv ? $" vs {Num(cv)}" : ""));
        else Card(h, "Champion", "unchanged", $"{champion.Metric}: candidate {Num(champion.CandidateValue)}, current {Num(champion.CurrentValue)}");

        string? bestMethod = c.Comparison.BestMethod();
        var bestRow = c.Comparison.Rows.FirstOrDefault(x => x.Method == bestMethod);
        Card(h, "Best method", bestMethod ?? "—", bestRow != null ? $"{c.Comparison.PrimaryMetric} {bestRow.Metrics[c.Comparison.PrimaryMetric].Format()}" : "no successful job");

        int ok = r.Jobs.Count(j => j.Status == JobStatus.Ok);
        Card(h, "Jobs", $"{ok} / {r.Jobs.Count} ok", r.Jobs.Count - ok > 0 ? $"{r.Jobs.Count - ok} failed (marked below)" : "all succeeded");

        if (r.Data is { } d)
            Card(h, "Data", $"{d.PreparedRows.ToString("N0", Inv)} rows", $"{d.RejectedRows.ToString("N0", Inv)} rejected of {d.InputRows.ToString("N0", Inv)} read");
        else Card(h, "Data", "—", "no statistics");
        h.Append("</div>\n");
    }

    private static void Card(StringBuilder h, string label, string value, string sub) =>
        h.Append("<div class=\"card\"><div class=\"label\">").Append(E(label)).Append("</div><div class=\"value\">").Append(E(value))
         .Append("</div><div class=\"sub\">").Append(E(sub)).Append("</div></div>\n");

    private static void Comparison(StringBuilder h, ReportContent c)
    {
        var cmp = c.Comparison;
        h.Append("<section id=\"comparison\">\n<h2>Method comparison</h2>\n");
        h.Append("<p class=\"note\">Test-split metrics, mean ± standard deviation over the successful seeds of each method. The best value of each metric is highlighted; ")
         .Append(E($"the champion is chosen by {cmp.PrimaryMetric} ({(MethodComparison.IsHigherBetter(cmp.PrimaryMetric) ? "higher" : "lower")} is better)."))
         .Append("</p>\n");
        h.Append("<table class=\"comparison\">\n<thead><tr><th>Method</th><th>Jobs ok</th>");
        foreach (var m in cmp.Metrics) h.Append("<th>").Append(E(m)).Append("</th>");
        h.Append("</tr></thead>\n<tbody>\n");
        var bestPerMetric = cmp.Metrics.ToDictionary(m => m, m =>
        {
            var values = cmp.Rows.Where(x => x.Metrics.ContainsKey(m)).Select(x => x.Metrics[m].Mean).ToList();
            return values.Count == 0 ? double.NaN : MethodComparison.IsHigherBetter(m) ? values.Max() : values.Min();
        }, StringComparer.Ordinal);
        foreach (var row in cmp.Rows)
        {
            h.Append("<tr").Append(row.OkJobs == 0 ? " class=\"failed\"" : row.IsBaseline ? " class=\"floor\"" : "").Append("><td><span class=\"swatch\" style=\"background:")
             .Append(ReportCharts.MethodHex(row.Method, c.Methods)).Append("\"></span>").Append(E(row.DisplayName)).Append("</td><td>")
             .Append(row.OkJobs).Append(" / ").Append(row.TotalJobs).Append("</td>");
            foreach (var m in cmp.Metrics)
            {
                if (!row.Metrics.TryGetValue(m, out var a)) { h.Append("<td class=\"muted\">—</td>"); continue; }
                bool isBest = cmp.Rows.Count > 1 && a.Mean.Equals(bestPerMetric[m]);
                h.Append(isBest ? "<td class=\"best\">" : "<td>").Append(E(a.Format())).Append("</td>");
            }
            h.Append("</tr>\n");
        }
        h.Append("</tbody>\n</table>\n");
        if (cmp.BaselineVerdict() is { } verdict)
            h.Append("<p class=\"verdict\">").Append(E(verdict)).Append("</p>\n<p class=\"note\">The classical baseline (word and character n-gram TF-IDF with a logistic or ridge regression, trained on the same train split) is the floor every LM method must beat; it is never promoted or served.</p>\n");

        var r = c.Report;
        h.Append("<h3>Jobs</h3>\n<table class=\"jobs\">\n<thead><tr><th>Job</th><th class=\"text\">Method</th><th>Seed</th><th class=\"text\">Status</th>");
        foreach (var m in cmp.Metrics) h.Append("<th>").Append(E(m)).Append("</th>");
        h.Append("<th>Train time</th></tr></thead>\n<tbody>\n");
        foreach (var job in OrderedJobs(r))
        {
            bool ok = job.Status == JobStatus.Ok;
            h.Append(ok ? "<tr>" : "<tr class=\"failed\">").Append("<td>").Append(E(job.JobId)).Append("</td><td class=\"text\">").Append(E(job.Method))
             .Append("</td><td>").Append(job.Seed.ToString(Inv)).Append("</td><td class=\"text\">")
             .Append(ok ? "<span class=\"badge ok\">ok</span>" : "<span class=\"badge failed\">failed</span>");
            if (r.Champion?.Promote == true && r.Champion.CandidateJobId == job.JobId) h.Append(" <span class=\"badge promoted\">champion</span>");
            h.Append("</td>");
            if (!ok)
            {
                h.Append("<td colspan=\"").Append(cmp.Metrics.Count.ToString(Inv)).Append("\" class=\"error\">").Append(E(Truncate(job.Error ?? "failed without a message", 400))).Append("</td>");
            }
            else
            {
                foreach (var m in cmp.Metrics)
                    h.Append("<td>").Append(job.TestMetrics.TryGetValue(m, out double v) ? E(Num(v)) : "—").Append("</td>");
            }
            h.Append("<td>").Append(job.TrainSeconds is double s ? E(Duration(s)) : "—").Append("</td></tr>\n");
        }
        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void Trials(StringBuilder h, ReportContent c)
    {
        var r = c.Report;
        if (r.Trials.Count == 0 && r.TrialsNote == null) return;
        h.Append("<section id=\"trials\">\n<h2>Learning-rate trials</h2>\n");
        if (r.Trials.Count == 0)
        {
            h.Append("<p class=\"note\">").Append(E(r.TrialsNote!)).Append("</p>\n</section>\n");
            return;
        }
        h.Append("<p class=\"note\">Short runs (seed 1) per method and candidate; the best validation score (macro-F1, or −MSE: higher is better) chooses the learning rate and fine-tuning mode every seed of that method trains with.</p>\n");
        h.Append("<table class=\"trials\">\n<thead><tr><th class=\"text\">Method</th><th>Learning rate</th><th class=\"text\">Fine-tuning</th><th>Steps</th><th>Validation score</th><th class=\"text\">Chosen</th></tr></thead>\n<tbody>\n");
        foreach (var t in OrderedTrials(r))
        {
            bool ok = t.Status == Retrain.JobSummary.Succeeded;
            h.Append(ok ? "<tr>" : "<tr class=\"failed\">").Append("<td>").Append(E(t.Method)).Append("</td><td>").Append(E(t.LearningRate.ToString("G3", Inv)))
             .Append("</td><td class=\"text\">").Append(E(t.FineTuning)).Append("</td><td>").Append(t.Steps.ToString(Inv)).Append("</td>")
             .Append(ok ? "<td>" + E(Num(t.ValidationScore)) + "</td>" : "<td class=\"error\">" + E(Truncate(t.Error ?? "failed", 200)) + "</td>")
             .Append("<td class=\"text\">").Append(t.Chosen ? "<span class=\"badge promoted\">chosen</span>" : "").Append("</td></tr>\n");
        }
        h.Append("</tbody>\n</table>\n</section>\n");
    }

    internal static IEnumerable<Retrain.TrialSummary> OrderedTrials(RunReport r) =>
        r.Trials.OrderBy(t => MethodComparison.MethodRank(t.Method)).ThenBy(t => t.Method, StringComparer.OrdinalIgnoreCase).ThenBy(t => t.JobId, StringComparer.Ordinal);

    private static void Curves(StringBuilder h, ReportContent c)
    {
        h.Append("<section id=\"curves\">\n<h2>Training curves</h2>\n");
        if (c.CurveImages.Count == 0) h.Append("<p class=\"note\">No job wrote a training curve (metrics.jsonl).</p>\n");
        else
        {
            h.Append("<p class=\"note\">From each job's metrics.jsonl; one line per seed, coloured by method.</p>\n<div class=\"grid\">\n");
            foreach (var image in c.CurveImages) Figure(h, image);
            h.Append("</div>\n");
        }
        h.Append("</section>\n");
    }

    private static void MutualInformation(StringBuilder h, ReportContent c)
    {
        var rows = MiRows(c);
        h.Append("<section id=\"mutual-information\">\n<h2>Mutual information</h2>\n");
        if (rows.Count == 0)
        {
            h.Append("<p class=\"note\">No MINE estimates for this run.</p>\n</section>\n");
            return;
        }
        h.Append("<p class=\"note\">MINE lower-bound estimates of I(Y; Z) in nats on held-out samples: pooled representations Z_p against the token-level representations Z of the generated answer (PredGen's claim: I(Y; Z) ≥ I(Y; Z_p)). Mean over the successful seeds that could estimate; the interval is the mean of their 95% intervals. \"Not estimable\": no trained critic beat the constant one on those rows, which shows no information rather than measuring none.");
        if (c.LabelEntropy is double hy) h.Append(E($" For this label distribution H(Y) = {hy.ToString("0.000", Inv)} nats bounds every estimate."));
        h.Append("</p>\n<div class=\"two\">\n");
        if (c.MiImage != null) Figure(h, c.MiImage);
        h.Append("<div><table class=\"mi\">\n<thead><tr><th>Method</th><th class=\"text\">Representation</th><th>Seeds</th><th>Rows (held out)</th><th>Estimate</th><th>95% CI</th></tr></thead>\n<tbody>\n");
        foreach (var row in rows)
            h.Append("<tr><td>").Append(E(row.Method)).Append("</td><td class=\"text\">").Append(E(row.Representation)).Append("</td><td>").Append(row.Seeds.ToString(Inv))
             .Append("</td><td>").Append(E(row.RowsText)).Append("</td><td>").Append(E(row.EstimateText)).Append("</td><td>")
             .Append(E(row.IntervalText)).Append("</td></tr>\n");
        h.Append("</tbody>\n</table></div>\n</div>\n</section>\n");
    }

    /// <summary>One method and representation. Estimate and interval average the seeds that could estimate; when none
    /// could, the row says "not estimable with N rows" instead of a 0 that would read as "no information".</summary>
    internal sealed record MiRow(string Method, string Representation, int Seeds, double Estimate, double CiLow, double CiHigh,
        int NotEstimable = 0, int Rows = 0, int HeldOutRows = 0)
    {
        public bool Estimable => NotEstimable < Seeds;

        public string EstimateText => !Estimable ? $"not estimable with {(Rows > 0 ? Rows.ToString(Inv) : "these")} rows"
            : Estimate.ToString("0.000", Inv) + (NotEstimable > 0 ? $" ({NotEstimable} of {Seeds} seeds not estimable)" : "");

        public string IntervalText => Estimable ? $"[{CiLow.ToString("0.000", Inv)}, {CiHigh.ToString("0.000", Inv)}]" : "none";

        public string RowsText => Rows > 0 ? $"{Rows.ToString(Inv)} ({HeldOutRows.ToString(Inv)})" : "";
    }

    /// <summary>MINE estimates per method and representation, averaged over the successful seeds that could estimate
    /// (pooled first).</summary>
    internal static List<MiRow> MiRows(ReportContent c) =>
        OrderedJobs(c.Report).Where(j => j.Status == JobStatus.Ok)
            .SelectMany(j => j.MutualInformation.Select(m => (j.Method, m)))
            .GroupBy(x => (Method: x.Method.ToLowerInvariant(), Representation: x.m.Representation.ToLowerInvariant()))
            .OrderBy(g => MethodComparison.MethodRank(g.Key.Method)).ThenBy(g => g.Key.Method, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Representation == "pooled" ? 0 : 1).ThenBy(g => g.Key.Representation, StringComparer.Ordinal)
            .Select(g =>
            {
                var estimable = g.Where(x => x.m.Estimable).Select(x => x.m).ToList();
                return new MiRow(g.First().Method, g.First().m.Representation, g.Count(),
                    estimable.Count > 0 ? estimable.Average(m => m.EstimateNats) : 0,
                    estimable.Count > 0 ? estimable.Average(m => m.CiLow) : 0,
                    estimable.Count > 0 ? estimable.Average(m => m.CiHigh) : 0,
                    g.Count() - estimable.Count, g.Max(x => x.m.Rows), g.Max(x => x.m.HeldOutRows));
            })
            .ToList();

    private static void Predictions(StringBuilder h, ReportContent c)
    {
        var r = c.Report;
        if (r.Kind == TaskKind.Regression)
        {
            h.Append("<section id=\"predictions\">\n<h2>Predicted vs true</h2>\n");
            if (c.ScatterImages.Count == 0) h.Append("<p class=\"note\">No test predictions were recorded.</p>\n");
            else
            {
                h.Append("<p class=\"note\">Test split, best seed of each method; points on the dashed diagonal are exact.</p>\n<div class=\"grid3\">\n");
                foreach (var image in c.ScatterImages) Figure(h, image);
                h.Append("</div>\n");
            }
            h.Append("</section>\n");
            return;
        }
        h.Append("<section id=\"predictions\">\n<h2>Confusion matrices</h2>\n");
        if (c.ConfusionMatrices.Count == 0)
        {
            h.Append("<p class=\"note\">No test predictions were recorded.</p>\n</section>\n");
            return;
        }
        string grid = c.ConfusionMatrices.All(cm => cm.Labels.Count <= 4) ? "grid3" : "grid";
        h.Append("<p class=\"note\">Test split, best seed of each method. Rows: true label; columns: predicted label; shading: share of the row.</p>\n<div class=\"").Append(grid).Append("\">\n");
        foreach (var cm in c.ConfusionMatrices)
        {
            h.Append("<div><h3>").Append(E($"{cm.Method} (seed {cm.Seed})")).Append("</h3>\n<table class=\"cm\">\n<thead><tr><th class=\"corner\">true \\ predicted</th>");
            foreach (var l in cm.Labels) h.Append("<th>").Append(E(l)).Append("</th>");
            h.Append("</tr></thead>\n<tbody>\n");
            for (int t = 0; t < cm.Labels.Count; t++)
            {
                int rowTotal = Enumerable.Range(0, cm.Labels.Count).Sum(q => cm.Counts[t, q]);
                h.Append("<tr><th>").Append(E(cm.Labels[t])).Append("</th>");
                for (int q = 0; q < cm.Labels.Count; q++)
                {
                    int n = cm.Counts[t, q];
                    double share = rowTotal == 0 ? 0 : (double)n / rowTotal;
                    string color = t == q ? "29,78,216" : "185,28,28";
                    string fg = share > 0.55 ? "#fff" : "#111827";
                    h.Append("<td style=\"background:rgba(").Append(color).Append(',').Append((0.08 + 0.8 * share).ToString("0.00", Inv)).Append(");color:").Append(fg).Append("\">")
                     .Append(n.ToString(Inv)).Append("</td>");
                }
                h.Append("</tr>\n");
            }
            h.Append("</tbody>\n</table>\n<p class=\"note\">").Append(E($"{cm.Correct} of {cm.Total} correct ({(cm.Total == 0 ? 0 : 100.0 * cm.Correct / cm.Total).ToString("0.0", Inv)}%)")).Append("</p></div>\n");
        }
        h.Append("</div>\n</section>\n");
    }

    private static void TopTokens(StringBuilder h, ReportContent c)
    {
        var jobs = c.Methods.Where(c.BestJobs.ContainsKey).Select(m => c.BestJobs[m]).Where(j => j.TopTokens.Count > 0).ToList();
        if (jobs.Count == 0) return;
        h.Append("<section id=\"tokens\">\n<h2>Token-level analysis</h2>\n<p class=\"note\">Input tokens most associated with each predicted label (best seed of each method), strongest first.</p>\n");
        h.Append("<table>\n<thead><tr><th class=\"text\">Method</th><th class=\"text\">Label</th><th class=\"text\">Top tokens (score)</th></tr></thead>\n<tbody>\n");
        foreach (var job in jobs)
            foreach (var label in job.TopTokens.GroupBy(t => t.Label, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
                h.Append("<tr><td>").Append(E(job.Method)).Append("</td><td class=\"text\">").Append(E(label.Key)).Append("</td><td class=\"text\">")
                 .Append(E(string.Join(", ", label.OrderByDescending(t => t.Score).Take(8).Select(t => $"{t.Token} ({t.Score.ToString("0.00", Inv)})"))))
                 .Append("</td></tr>\n");
        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void DataQuality(StringBuilder h, ReportContent c)
    {
        h.Append("<section id=\"data\">\n<h2>Data quality</h2>\n");
        if (c.Report.Data is not { } d)
        {
            h.Append("<p class=\"note\">No dataset statistics (prepared/stats.json) were found.</p>\n</section>\n");
            return;
        }
        h.Append("<p class=\"note\">").Append(E($"{d.InputRows:N0} rows read from {d.Source} ({d.Format.ToString().ToUpperInvariant()}): {d.PreparedRows:N0} prepared, {d.RejectedRows:N0} quarantined to rejected.jsonl with their line numbers. Task kind {(d.Kind?.ToString().ToLowerInvariant() ?? "unknown")} ({d.KindSource})."))
         .Append("</p>\n<div class=\"two\">\n<div>\n");

        h.Append("<h3>Splits</h3>\n<table>\n<thead><tr><th>Split</th><th>Rows</th>");
        bool classification = d.Kind == TaskKind.Classification && d.Labels != null;
        if (classification) foreach (var l in d.Labels!.Take(8)) h.Append("<th>").Append(E(l)).Append("</th>");
        else h.Append("<th>Min</th><th>Max</th><th>Mean</th><th>Std</th>");
        h.Append("</tr></thead>\n<tbody>\n");
        foreach (var split in DatasetSplit.All.Where(d.Splits.ContainsKey))
        {
            var s = d.Splits[split];
            h.Append("<tr><td>").Append(E(split)).Append("</td><td>").Append(s.Rows.ToString("N0", Inv)).Append("</td>");
            if (classification) foreach (var l in d.Labels!.Take(8)) h.Append("<td>").Append((s.Classes?.GetValueOrDefault(l) ?? 0).ToString("N0", Inv)).Append("</td>");
            else if (s.Values is { } v) h.Append("<td>").Append(E(Num(v.Min))).Append("</td><td>").Append(E(Num(v.Max))).Append("</td><td>").Append(E(Num(v.Mean))).Append("</td><td>").Append(E(Num(v.Std))).Append("</td>");
            else h.Append("<td colspan=\"4\" class=\"muted\">—</td>");
            h.Append("</tr>\n");
        }
        h.Append("</tbody>\n</table>\n");
        if (d.NumberFormat is { } f)
            h.Append("<p class=\"note\">").Append(E($"Targets are generated as {f.Length} characters: {(f.HasSign ? "a sign, " : "")}{f.IntegerDigits} integer digit(s) and {f.Decimals} decimal(s) (e.g. {f.Format(d.Splits.GetValueOrDefault(DatasetSplit.Train)?.Values?.Mean ?? 0)}).")).Append("</p>\n");
        if (d.TextLength is { } tl)
            h.Append("<p class=\"note\">").Append(E($"Text length (characters): median {tl.P50}, 90th percentile {tl.P90}, 99th percentile {tl.P99}, longest {tl.Max}." + (d.RowsWithTextB > 0 ? $" {d.RowsWithTextB:N0} rows are sentence pairs." : ""))).Append("</p>\n");

        h.Append("<h3>Rejected rows</h3>\n");
        if (d.RejectedRows == 0) h.Append("<p class=\"note\">None: every row was usable.</p>\n");
        else
        {
            h.Append("<table>\n<thead><tr><th class=\"text\">Reason</th><th>Rows</th><th>Share of input</th></tr></thead>\n<tbody>\n");
            foreach (var (reason, count) in d.RejectedByReason.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
                h.Append("<tr><td class=\"text\"><code>").Append(E(reason)).Append("</code></td><td>").Append(count.ToString("N0", Inv)).Append("</td><td>")
                 .Append(E((100.0 * count / Math.Max(1, d.InputRows)).ToString("0.0", Inv) + "%")).Append("</td></tr>\n");
            h.Append("</tbody>\n</table>\n");
        }
        h.Append("</div>\n");
        if (c.DataImage != null) Figure(h, c.DataImage);
        h.Append("</div>\n</section>\n");
    }

    private static void SettingsAndTimings(StringBuilder h, ReportContent c)
    {
        var r = c.Report;
        h.Append("<section id=\"settings\">\n<h2>Settings and timings</h2>\n<div class=\"two\">\n<div>\n<h3>Settings</h3>\n<table>\n<tbody>\n");
        if (r.Settings.Count == 0) h.Append("<tr><td class=\"muted\">none recorded</td></tr>\n");
        foreach (var (key, value) in r.Settings)
            h.Append("<tr><td>").Append(E(key)).Append("</td><td class=\"text\">").Append(E(value)).Append("</td></tr>\n");
        foreach (var job in OrderedJobs(r).Where(j => j.Settings.Count > 0))
            h.Append("<tr><td>").Append(E(job.JobId)).Append("</td><td class=\"text\">").Append(E(string.Join(", ", job.Settings.Select(kv => $"{kv.Key} = {kv.Value}")))).Append("</td></tr>\n");
        h.Append("</tbody>\n</table>\n</div>\n<div>\n<h3>Timings</h3>\n<table>\n<thead><tr><th class=\"text\">Stage</th><th>Wall time</th></tr></thead>\n<tbody>\n");
        foreach (var t in r.Timings)
            h.Append("<tr><td>").Append(E(t.Stage)).Append("</td><td>").Append(E(Duration(t.Seconds))).Append("</td></tr>\n");
        if (r.Timings.Count > 0)
            h.Append("<tr><td><b>total</b></td><td><b>").Append(E(Duration(r.Timings.Sum(t => t.Seconds)))).Append("</b></td></tr>\n");
        var trained = r.Jobs.Where(j => j.TrainSeconds.HasValue).ToList();
        if (trained.Count > 0)
            h.Append("<tr><td class=\"muted\">training, summed over jobs</td><td class=\"muted\">").Append(E(Duration(trained.Sum(j => j.TrainSeconds!.Value)))).Append("</td></tr>\n");
        if (r.Timings.Count == 0 && trained.Count == 0) h.Append("<tr><td class=\"muted\" colspan=\"2\">none recorded</td></tr>\n");
        h.Append("</tbody>\n</table>\n");
        if (r.Champion is { } ch)
            h.Append("<h3>Champion decision</h3>\n<p>").Append(E(ch.Reason)).Append("</p>\n");
        h.Append("</div>\n</div>\n</section>\n");
    }

    private static void Figure(StringBuilder h, ReportImage image) =>
        h.Append("<figure><img alt=\"").Append(E(image.Title)).Append("\" data-file=\"").Append(E(image.FileName)).Append("\" src=\"data:image/png;base64,")
         .Append(Convert.ToBase64String(image.Png)).Append("\"><figcaption>").Append(E(image.Title)).Append("</figcaption></figure>\n");

    internal static IEnumerable<JobReport> OrderedJobs(RunReport r) =>
        r.Jobs.OrderBy(j => MethodComparison.MethodRank(j.Method)).ThenBy(j => j.Method, StringComparer.OrdinalIgnoreCase).ThenBy(j => j.Seed).ThenBy(j => j.JobId, StringComparer.Ordinal);

    internal static string Num(double? value) => value switch
    {
        null => "—",
        double v when double.IsNaN(v) => "NaN",
        double v when Math.Abs(v) >= 1000 => v.ToString("0.0", Inv),
        double v => v.ToString("0.000", Inv),
    };

    internal static string Duration(double seconds) =>
        seconds < 60 ? seconds.ToString("0.0", Inv) + " s"
        : seconds < 3600 ? $"{(int)(seconds / 60)} min {(int)(seconds % 60):00} s"
        : $"{(int)(seconds / 3600)} h {(int)(seconds % 3600 / 60):00} min";

    internal static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
