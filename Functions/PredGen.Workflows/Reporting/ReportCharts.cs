using System.Globalization;
using PredGen.Shared.Data;
using ScottPlot;

namespace PredGen.Workflows.Reporting;

/// <summary>A PNG of the report: its file name under images/, a caption, the bytes.</summary>
public sealed record ReportImage(string FileName, string Title, byte[] Png);

/// <summary>The report's plots, drawn with ScottPlot (SkiaSharp, headless).</summary>
internal static class ReportCharts
{
    private const int Width = 600, Height = 380;
    /// <summary>Plots are drawn at twice their layout size, so text and lines stay sharp when the page scales them.</summary>
    private const float Scale = 2;
    private static readonly string[] Palette = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2"];
    private static readonly HashSet<string> NotQuality = new(StringComparer.OrdinalIgnoreCase)
    {
        "lr", "learning_rate", "p", "sampling_p", "throughput", "tokens_per_s", "tokens_per_second", "samples_per_s", "examples_per_s", "grad_norm", "elapsed", "seconds",
    };

    public static ScottPlot.Color MethodColor(string method, IReadOnlyList<string> methods)
    {
        int i = Math.Max(0, methods.ToList().FindIndex(m => string.Equals(m, method, StringComparison.OrdinalIgnoreCase)));
        return ScottPlot.Color.FromHex(Palette[i % Palette.Length]);
    }

    public static string MethodHex(string method, IReadOnlyList<string> methods) =>
        Palette[Math.Max(0, methods.ToList().FindIndex(m => string.Equals(m, method, StringComparison.OrdinalIgnoreCase))) % Palette.Length];

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        ReportFonts.EnsureRegistered();
        var plot = new Plot { ScaleFactor = Scale };
        plot.Font.Set(ReportFonts.Family);
        plot.Title(title, size: 16);
        plot.XLabel(xLabel, size: 13);
        plot.YLabel(yLabel, size: 13);
        plot.FigureBackground.Color = Colors.White;
        plot.DataBackground.Color = ScottPlot.Color.FromHex("#fbfcfe");
        plot.Grid.MajorLineColor = ScottPlot.Color.FromHex("#e5e7eb");
        return plot;
    }

    private static byte[] Png(Plot plot, int width = Width, int height = Height) => plot.GetImage((int)(width * Scale), (int)(height * Scale)).GetImageBytes(ImageFormat.Png);

    /// <summary>The curve metrics worth plotting: losses first (train, then validation), then validation quality
    /// metrics; schedules and throughput are left out. At most <paramref name="max"/>.</summary>
    public static IReadOnlyList<string> CurveMetrics(IEnumerable<JobReport> jobs, int max = 4)
    {
        var names = jobs.SelectMany(j => j.Curve).GroupBy(p => p.Metric, StringComparer.Ordinal)
            .Where(g => !NotQuality.Contains(g.Key) && g.Select(p => p.Step).Distinct().Count() >= 2)
            .Select(g => g.Key).ToList();
        static int Rank(string m) =>
            m == "loss" ? 0 : m.Contains("loss", StringComparison.OrdinalIgnoreCase) && !m.StartsWith("val", StringComparison.OrdinalIgnoreCase) ? 1
            : m.Contains("loss", StringComparison.OrdinalIgnoreCase) ? 2 : m.StartsWith("val", StringComparison.OrdinalIgnoreCase) ? 3 : 4;
        return names.OrderBy(Rank).ThenBy(m => m, StringComparer.Ordinal).Take(max).ToList();
    }

    public static ReportImage Curve(string metric, IReadOnlyList<JobReport> jobs, IReadOnlyList<string> methods)
    {
        var plot = NewPlot(Pretty(metric), "step", metric);
        var labelled = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var job in jobs)
        {
            var points = job.Curve.Where(p => p.Metric == metric).OrderBy(p => p.Step).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray());
            line.Color = MethodColor(job.Method, methods).WithAlpha(job.Status == JobStatus.Ok ? 0.9 : 0.35);
            line.LineWidth = 2;
            line.MarkerSize = points.Count <= 30 ? 4 : 0;
            if (labelled.Add(job.Method)) line.LegendText = job.Method;
        }
        plot.ShowLegend(Alignment.UpperRight);
        return new ReportImage($"curve-{Slug(metric)}.png", $"Training curve: {metric} (one line per seed)", Png(plot));
    }

    /// <summary>MINE estimates per method (mean over seeds), pooled vs token-level, with the confidence interval drawn
    /// from the mean of the seeds' interval bounds.</summary>
    public static ReportImage? MutualInformation(IReadOnlyList<JobReport> jobs, IReadOnlyList<string> methods, double? entropyNats)
    {
        // A representation that is not estimable has no bar: a bar at 0 would read as "no information".
        var estimates = jobs.Where(j => j.Status == JobStatus.Ok).SelectMany(j => j.MutualInformation.Where(m => m.Estimable).Select(m => (j.Method, m))).ToList();
        if (estimates.Count == 0) return null;
        var representations = estimates.Select(e => e.m.Representation).Distinct(StringComparer.OrdinalIgnoreCase)
            .OrderBy(r => r.Equals("pooled", StringComparison.OrdinalIgnoreCase) ? 0 : 1).ToList();
        var plot = NewPlot("Mutual information I(Y; Z) per method", "", "nats");
        var shades = new[] { "#93c5fd", "#1d4ed8", "#6ee7b7", "#047857" };
        double groupWidth = 0.8, barWidth = groupWidth / representations.Count;
        var tickPositions = new List<double>();
        var tickLabels = new List<string>();
        for (int mi = 0; mi < methods.Count; mi++)
        {
            tickPositions.Add(mi);
            tickLabels.Add(methods[mi]);
            for (int ri = 0; ri < representations.Count; ri++)
            {
                var these = estimates.Where(e => string.Equals(e.Method, methods[mi], StringComparison.OrdinalIgnoreCase)
                    && string.Equals(e.m.Representation, representations[ri], StringComparison.OrdinalIgnoreCase)).Select(e => e.m).ToList();
                if (these.Count == 0) continue;
                double x = mi - groupWidth / 2 + barWidth * (ri + 0.5);
                double value = these.Average(m => m.EstimateNats), low = these.Average(m => m.CiLow), high = these.Average(m => m.CiHigh);
                var bar = plot.Add.Bar(new Bar { Position = x, Value = value, Size = barWidth * 0.9, FillColor = ScottPlot.Color.FromHex(shades[ri % shades.Length]), LineWidth = 0 });
                _ = bar;
                var whisker = ScottPlot.Color.FromHex("#111827");
                var v = plot.Add.Line(x, low, x, high);
                v.Color = whisker; v.LineWidth = 1.5f; v.MarkerSize = 0;
                foreach (double y in new[] { low, high })
                {
                    var cap = plot.Add.Line(x - barWidth * 0.18, y, x + barWidth * 0.18, y);
                    cap.Color = whisker; cap.LineWidth = 1.5f; cap.MarkerSize = 0;
                }
            }
        }
        for (int ri = 0; ri < representations.Count; ri++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = representations[ri] + (representations[ri].Equals("token", StringComparison.OrdinalIgnoreCase) ? "-level Z" : " Z_p"), FillColor = ScottPlot.Color.FromHex(shades[ri % shades.Length]) });
        if (entropyNats is double h)
        {
            var line = plot.Add.HorizontalLine(h);
            line.Color = ScottPlot.Color.FromHex("#6b7280");
            line.LinePattern = LinePattern.Dashed;
            line.LineWidth = 1.5f;
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "H(Y) upper bound", LineColor = ScottPlot.Color.FromHex("#6b7280"), LineWidth = 1.5f, LinePattern = LinePattern.Dashed });
        }
        plot.Axes.Bottom.SetTicks(tickPositions.ToArray(), tickLabels.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperLeft);
        return new ReportImage("mutual-information.png", "MINE estimates of I(Y; Z) with confidence intervals (mean over seeds)", Png(plot));
    }

    public static ReportImage? Scatter(string method, JobReport job, IReadOnlyList<string> methods)
    {
        var points = job.Predictions.Where(p => p.TrueValue.HasValue && p.PredictedValue.HasValue).ToList();
        if (points.Count == 0) return null;
        var plot = NewPlot($"{method} (seed {job.Seed}): predicted vs true", "true value", "predicted value");
        double[] xs = points.Select(p => p.TrueValue!.Value).ToArray(), ys = points.Select(p => p.PredictedValue!.Value).ToArray();
        double lo = Math.Min(xs.Min(), ys.Min()), hi = Math.Max(xs.Max(), ys.Max());
        if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
        var diagonal = plot.Add.Line(lo, lo, hi, hi);
        diagonal.Color = ScottPlot.Color.FromHex("#9ca3af");
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LineWidth = 1.5f;
        diagonal.MarkerSize = 0;
        var scatter = plot.Add.ScatterPoints(xs, ys);
        scatter.Color = MethodColor(method, methods).WithAlpha(0.7);
        scatter.MarkerSize = points.Count > 500 ? 3 : 6;
        double pad = (hi - lo) * 0.05;
        plot.Axes.SetLimits(lo - pad, hi + pad, lo - pad, hi + pad);
        return new ReportImage($"scatter-{Slug(method)}.png", $"{method}: predicted vs true on the test split (seed {job.Seed}, {points.Count} rows; dashed: y = x)", Png(plot, 440, 400));
    }

    public static ReportImage? Splits(DatasetStats data)
    {
        if (data.Splits.Count == 0) return null;
        var plot = NewPlot("Prepared rows per split" + (data.Kind == TaskKind.Classification ? " and class" : ""), "", "rows");
        var splits = DatasetSplit.All.Where(data.Splits.ContainsKey).ToList();
        var classes = data.Labels ?? [];
        var tickPositions = new List<double>();
        for (int si = 0; si < splits.Count; si++)
        {
            tickPositions.Add(si);
            var split = data.Splits[splits[si]];
            if (classes.Count == 0 || split.Classes == null)
            {
                plot.Add.Bar(new Bar { Position = si, Value = split.Rows, Size = 0.6, FillColor = ScottPlot.Color.FromHex(Palette[0]), LineWidth = 0 });
                continue;
            }
            double baseValue = 0;
            for (int ci = 0; ci < classes.Count; ci++)
            {
                int count = split.Classes.GetValueOrDefault(classes[ci]);
                plot.Add.Bar(new Bar { Position = si, ValueBase = baseValue, Value = baseValue + count, Size = 0.6, FillColor = ScottPlot.Color.FromHex(Palette[ci % Palette.Length]), LineWidth = 0 });
                baseValue += count;
            }
        }
        for (int ci = 0; ci < Math.Min(classes.Count, 12); ci++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = classes[ci], FillColor = ScottPlot.Color.FromHex(Palette[ci % Palette.Length]) });
        plot.Axes.Bottom.SetTicks(tickPositions.ToArray(), splits.Select(s => $"{s} ({data.Splits[s].Rows.ToString(CultureInfo.InvariantCulture)})").ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0);
        if (classes.Count > 0) plot.ShowLegend(Alignment.UpperRight);
        return new ReportImage("data-splits.png", "Prepared rows per split", Png(plot, 480, 340));
    }

    public static string Slug(string text)
    {
        var chars = text.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        string slug = new string(chars).Trim('-');
        while (slug.Contains("--", StringComparison.Ordinal)) slug = slug.Replace("--", "-", StringComparison.Ordinal);
        return slug.Length == 0 ? "x" : slug;
    }

    public static string Pretty(string metric) => metric switch
    {
        "loss" => "Training loss",
        "l_w" => "Generation loss L_W",
        "l_d" => "Task loss L_D",
        "wdal" => "WDAL",
        _ => char.ToUpperInvariant(metric[0]) + metric[1..].Replace('_', ' '),
    };
}
