using System.Globalization;
using System.Text;
using PredGen.Shared.Data;

namespace PredGen.Workflows.Reporting;

/// <summary>report.md: the same content as the page, with the plots linked as images/*.png beside it.</summary>
internal static class MarkdownReportWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Write(ReportContent c)
    {
        var r = c.Report;
        var cmp = c.Comparison;
        var m = new StringBuilder(16 * 1024);
        m.Append(Inv, $"# Retraining report: {r.Task}\n\n");
        m.Append(Inv, $"Run `{r.RunId}` · {(r.Kind == TaskKind.Classification ? "classification" : "regression")}");
        if (r.DatasetPath != null) m.Append(Inv, $" · `{r.DatasetPath}`");
        if (r.StartedAt is { } s) m.Append(Inv, $" · started {s.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
        if (r.Timings.Count > 0) m.Append(Inv, $" · took {HtmlReportWriter.Duration(r.Timings.Sum(t => t.Seconds))}");
        m.Append("\n\n");
        if (r.Champion is { } ch)
            m.Append(ch.Promote ? $"**Champion:** {ch.CandidateMethod ?? ch.CandidateJobId} promoted ({ch.Metric} {HtmlReportWriter.Num(ch.CandidateValue)}). " : "**Champion:** unchanged. ")
             .Append(Cell(ch.Reason)).Append("\n\n");

        m.Append("## Method comparison\n\n");
        m.Append(Inv, $"Test-split metrics, mean ± standard deviation over successful seeds; the champion is chosen by {cmp.PrimaryMetric}.\n\n");
        m.Append("| Method | Jobs ok |").Append(string.Concat(cmp.Metrics.Select(x => $" {x} |"))).Append('\n');
        m.Append("|---|---:|").Append(string.Concat(cmp.Metrics.Select(_ => "---:|"))).Append('\n');
        foreach (var row in cmp.Rows)
            m.Append(Inv, $"| {Cell(row.IsBaseline ? $"*{row.DisplayName}*" : row.Method)} | {row.OkJobs}/{row.TotalJobs} |")
             .Append(string.Concat(cmp.Metrics.Select(x => row.Metrics.TryGetValue(x, out var a) ? $" {a.Format()} |" : " — |"))).Append('\n');
        if (cmp.BaselineVerdict() is { } verdict)
            m.Append("\n**").Append(Cell(verdict)).Append("** The classical baseline (word and character n-gram TF-IDF with a logistic or ridge regression, same train split) is the floor every LM method must beat; it is never promoted or served.\n");
        m.Append("\n### Jobs\n\n| Job | Method | Seed | Status |").Append(string.Concat(cmp.Metrics.Select(x => $" {x} |"))).Append(" Train time |\n");
        m.Append("|---|---|---:|---|").Append(string.Concat(cmp.Metrics.Select(_ => "---:|"))).Append("---:|\n");
        foreach (var job in HtmlReportWriter.OrderedJobs(r))
        {
            bool ok = job.Status == JobStatus.Ok;
            m.Append(Inv, $"| {Cell(job.JobId)} | {Cell(job.Method)} | {job.Seed} | {(ok ? "ok" : "**FAILED**")} |");
            if (ok) m.Append(string.Concat(cmp.Metrics.Select(x => job.TestMetrics.TryGetValue(x, out double v) ? $" {HtmlReportWriter.Num(v)} |" : " — |")));
            else m.Append(' ').Append(Cell(HtmlReportWriter.Truncate(job.Error ?? "failed", 200))).Append(" |").Append(string.Concat(Enumerable.Repeat(" |", Math.Max(0, cmp.Metrics.Count - 1))));
            m.Append(' ').Append(job.TrainSeconds is double t ? HtmlReportWriter.Duration(t) : "—").Append(" |\n");
        }

        if (r.Trials.Count > 0 || r.TrialsNote != null)
        {
            m.Append("\n## Learning-rate trials\n\n");
            if (r.Trials.Count == 0) m.Append(Cell(r.TrialsNote!)).Append('\n');
            else
            {
                m.Append("Short runs (seed 1) per method and candidate; the best validation score (macro-F1, or −MSE: higher is better) chooses the settings every seed of that method trains with.\n\n");
                m.Append("| Method | Learning rate | Fine-tuning | Steps | Validation score | Chosen |\n|---|---:|---|---:|---:|---|\n");
                foreach (var t in HtmlReportWriter.OrderedTrials(r))
                    m.Append(Inv, $"| {Cell(t.Method)} | {t.LearningRate.ToString("G3", Inv)} | {t.FineTuning} | {t.Steps} | ")
                     .Append(t.Status == Retrain.JobSummary.Succeeded ? HtmlReportWriter.Num(t.ValidationScore) : "**FAILED** " + Cell(HtmlReportWriter.Truncate(t.Error ?? "failed", 200)))
                     .Append(t.Chosen ? " | **chosen** |\n" : " | |\n");
            }
        }

        m.Append("\n## Training curves\n\n");
        if (c.CurveImages.Count == 0) m.Append("No job wrote a training curve.\n");
        foreach (var image in c.CurveImages) Image(m, image);

        m.Append("\n## Mutual information\n\n");
        var mi = HtmlReportWriter.MiRows(c);
        if (mi.Count == 0) m.Append("No MINE estimates for this run.\n");
        else
        {
            if (c.MiImage != null) Image(m, c.MiImage);
            if (c.LabelEntropy is double hy) m.Append(Inv, $"H(Y) = {hy:0.000} nats bounds every estimate.\n\n");
            m.Append("Mean over the successful seeds that could estimate; the interval is the mean of their 95% intervals. ")
             .Append("\"Not estimable\": no trained critic beat the constant one on those rows, which shows no information rather than measuring none. ")
             .Append("Rows: representations MINE used (validation and test rows first, then training rows); held out: the rows the estimate is computed on.\n\n");
            m.Append("| Method | Representation | Seeds | Rows (held out) | Estimate (nats) | 95% CI |\n|---|---|---:|---:|---:|---:|\n");
            foreach (var e in mi)
                m.Append(Inv, $"| {Cell(e.Method)} | {e.Representation} | {e.Seeds} | {e.RowsText} | {e.EstimateText} | {e.IntervalText} |\n");
        }

        if (r.Kind == TaskKind.Regression)
        {
            m.Append("\n## Predicted vs true\n\n");
            if (c.ScatterImages.Count == 0) m.Append("No test predictions were recorded.\n");
            foreach (var image in c.ScatterImages) Image(m, image);
        }
        else
        {
            m.Append("\n## Confusion matrices\n\n");
            if (c.ConfusionMatrices.Count == 0) m.Append("No test predictions were recorded.\n");
            foreach (var cm in c.ConfusionMatrices)
            {
                m.Append(Inv, $"**{Cell(cm.Method)}** (seed {cm.Seed}): {cm.Correct} of {cm.Total} correct. Rows: true; columns: predicted.\n\n");
                m.Append("| true \\ predicted |").Append(string.Concat(cm.Labels.Select(l => $" {Cell(l)} |"))).Append('\n');
                m.Append("|---|").Append(string.Concat(cm.Labels.Select(_ => "---:|"))).Append('\n');
                for (int t = 0; t < cm.Labels.Count; t++)
                    m.Append("| ").Append(Cell(cm.Labels[t])).Append(" |").Append(string.Concat(Enumerable.Range(0, cm.Labels.Count).Select(q => t == q ? $" **{cm.Counts[t, q]}** |" : $" {cm.Counts[t, q]} |"))).Append('\n');
                m.Append('\n');
            }
        }

        var tokenJobs = c.Methods.Where(c.BestJobs.ContainsKey).Select(x => c.BestJobs[x]).Where(j => j.TopTokens.Count > 0).ToList();
        if (tokenJobs.Count > 0)
        {
            m.Append("\n## Token-level analysis\n\n| Method | Label | Top tokens (score) |\n|---|---|---|\n");
            foreach (var job in tokenJobs)
                foreach (var g in job.TopTokens.GroupBy(t => t.Label, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
                    m.Append(Inv, $"| {Cell(job.Method)} | {Cell(g.Key)} | {Cell(string.Join(", ", g.OrderByDescending(t => t.Score).Take(8).Select(t => $"{t.Token} ({t.Score.ToString("0.00", Inv)})")))} |\n");
        }

        m.Append("\n## Data quality\n\n");
        if (r.Data is not { } d) m.Append("No dataset statistics were found.\n");
        else
        {
            m.Append(Inv, $"{d.InputRows:N0} rows read from `{d.Source}` ({d.Format.ToString().ToUpperInvariant()}): {d.PreparedRows:N0} prepared, {d.RejectedRows:N0} quarantined to rejected.jsonl. Kind: {d.Kind?.ToString().ToLowerInvariant() ?? "unknown"} ({d.KindSource}).\n\n");
            bool classification = d.Kind == TaskKind.Classification && d.Labels != null;
            var labels = classification ? d.Labels!.Take(8).ToList() : [];
            m.Append("| Split | Rows |").Append(classification ? string.Concat(labels.Select(l => $" {Cell(l)} |")) : " Min | Max | Mean | Std |").Append('\n');
            m.Append("|---|---:|").Append(string.Concat(Enumerable.Repeat("---:|", classification ? labels.Count : 4))).Append('\n');
            foreach (var split in DatasetSplit.All.Where(d.Splits.ContainsKey))
            {
                var st = d.Splits[split];
                m.Append(Inv, $"| {split} | {st.Rows:N0} |");
                if (classification) m.Append(string.Concat(labels.Select(l => $" {st.Classes?.GetValueOrDefault(l) ?? 0} |")));
                else if (st.Values is { } v) m.Append(Inv, $" {HtmlReportWriter.Num(v.Min)} | {HtmlReportWriter.Num(v.Max)} | {HtmlReportWriter.Num(v.Mean)} | {HtmlReportWriter.Num(v.Std)} |");
                else m.Append(" — | — | — | — |");
                m.Append('\n');
            }
            if (d.TextLength is { } tl) m.Append(Inv, $"\nText length (characters): median {tl.P50}, p90 {tl.P90}, p99 {tl.P99}, max {tl.Max}.\n");
            m.Append("\n**Rejected rows by reason**\n\n");
            if (d.RejectedRows == 0) m.Append("None.\n");
            else
            {
                m.Append("| Reason | Rows | Share of input |\n|---|---:|---:|\n");
                foreach (var (reason, count) in d.RejectedByReason.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
                    m.Append(Inv, $"| `{reason}` | {count:N0} | {100.0 * count / Math.Max(1, d.InputRows):0.0}% |\n");
            }
            if (c.DataImage != null) { m.Append('\n'); Image(m, c.DataImage); }
        }

        m.Append("\n## Settings and timings\n\n| Setting | Value |\n|---|---|\n");
        foreach (var (key, value) in r.Settings) m.Append(Inv, $"| {Cell(key)} | {Cell(value)} |\n");
        if (r.Timings.Count > 0)
        {
            m.Append("\n| Stage | Wall time |\n|---|---:|\n");
            foreach (var t in r.Timings) m.Append(Inv, $"| {Cell(t.Stage)} | {HtmlReportWriter.Duration(t.Seconds)} |\n");
            m.Append(Inv, $"| **total** | **{HtmlReportWriter.Duration(r.Timings.Sum(t => t.Seconds))}** |\n");
        }
        return m.ToString();
    }

    private static void Image(StringBuilder m, ReportImage image) =>
        m.Append(Inv, $"![{Cell(image.Title)}](images/{image.FileName})\n\n");

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
