using System.Globalization;
using PredGen.Training.Pretraining;
using ScottPlot;

namespace PredGen.Cli;

/// <summary>loss.png next to loss.csv: training and validation loss (nats per byte) against tokens seen.</summary>
public static class LossCurvePlot
{
    public const string FileName = "loss.png";

    public static bool TryWrite(string directory)
    {
        string csv = Path.Combine(directory, Pretrainer.LossCurveFile);
        if (!File.Exists(csv)) return false;
        var rows = File.ReadAllLines(csv).Skip(1).Select(l => l.Split(',')).ToList();
        static double? Value(string s) => s.Length == 0 ? null : double.Parse(s, CultureInfo.InvariantCulture);
        var train = rows.Where(r => Value(r[3]).HasValue).Select(r => (X: Value(r[1])!.Value / 1e6, Y: Value(r[3])!.Value)).ToArray();
        var validation = rows.Where(r => Value(r[4]).HasValue).Select(r => (X: Value(r[1])!.Value / 1e6, Y: Value(r[4])!.Value)).ToArray();
        var plot = new Plot();
        if (train.Length > 0)
        {
            var t = plot.Add.Scatter(train.Select(p => p.X).ToArray(), train.Select(p => p.Y).ToArray());
            t.LegendText = "train (mean over the interval)";
        }
        if (validation.Length > 0)
        {
            var v = plot.Add.Scatter(validation.Select(p => p.X).ToArray(), validation.Select(p => p.Y).ToArray());
            v.LegendText = "validation (held-out 1% of each file)";
        }
        plot.Title("Pretraining loss of the byte-level base");
        plot.XLabel("tokens seen (millions of bytes)");
        plot.YLabel("cross-entropy (nats per byte)");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(Path.Combine(directory, FileName), 800, 450);
        return true;
    }
}
