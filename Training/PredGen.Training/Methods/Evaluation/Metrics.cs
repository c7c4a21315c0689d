using System.Text.Json.Serialization;
using PredGen.Shared.Data;

namespace PredGen.Training.Methods;

/// <summary>Test or validation metrics: accuracy and macro-F1 for classification; MSE, MAE, Pearson, Spearman and R² for
/// regression. The other kind's fields are null (and left out of JSON).</summary>
public sealed record Metrics
{
    [JsonPropertyName("task_kind")]
    [JsonConverter(typeof(JsonStringEnumConverter<TaskKind>))]
    public TaskKind Kind { get; init; }

    [JsonPropertyName("count")]
    public int Count { get; init; }

    [JsonPropertyName("accuracy"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Accuracy { get; init; }

    [JsonPropertyName("macro_f1"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MacroF1 { get; init; }

    [JsonPropertyName("mse"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Mse { get; init; }

    [JsonPropertyName("mae"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Mae { get; init; }

    [JsonPropertyName("pearson"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Pearson { get; init; }

    [JsonPropertyName("spearman"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Spearman { get; init; }

    [JsonPropertyName("r2"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? R2 { get; init; }

    /// <summary>
    /// Model selection's score on the validation split, higher is better: macro-F1 (then accuracy breaks ties) for
    /// classes, −MSE for numbers. What the best-checkpoint choice, the learning-rate trials and the baseline's
    /// regularisation compare (the champion is chosen on the test split's accuracy, in the workflow).
    /// <para>Not accuracy: a validation split of a few hundred rows is rarely balanced as the test split is, and a
    /// model stuck on one class then wins on accuracy. On sotu-party (validation 60.5% one class, test 52.4% the
    /// other) the Generator's best checkpoint by accuracy was its step-88 constant predictor (validation 0.605, test
    /// 0.476, below the majority class) over its step-176 model that had learned (0.58, macro-F1 0.53 vs 0.38). A constant
    /// predictor's macro-F1 is at most 1/K x 2p/(1+p); on balanced classes macro-F1 and accuracy rank models alike.</para>
    /// </summary>
    [JsonIgnore]
    public double Score => Kind == TaskKind.Classification ? (MacroF1 ?? 0) + 1e-6 * (Accuracy ?? 0) : -(Mse ?? double.PositiveInfinity);

    [JsonIgnore]
    public string ScoreName => Kind == TaskKind.Classification ? "macro_f1" : "mse";

    public static Metrics Classification(IReadOnlyList<string> gold, IReadOnlyList<string> predicted)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        if (gold.Count != predicted.Count) throw new ArgumentException("gold and predicted differ in length", nameof(predicted));
        int n = gold.Count;
        int correct = 0;
        for (int i = 0; i < n; i++) if (string.Equals(gold[i], predicted[i], StringComparison.Ordinal)) correct++;
        // Macro-F1 over every label that occurs in the gold or the predictions (as scikit-learn does).
        var labels = gold.Concat(predicted).Distinct(StringComparer.Ordinal).ToList();
        double f1Sum = 0;
        foreach (var label in labels)
        {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < n; i++)
            {
                bool g = gold[i] == label, p = predicted[i] == label;
                if (g && p) tp++;
                else if (p) fp++;
                else if (g) fn++;
            }
            f1Sum += tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
        }
        return new Metrics
        {
            Kind = TaskKind.Classification,
            Count = n,
            Accuracy = n == 0 ? 0 : correct / (double)n,
            MacroF1 = labels.Count == 0 ? 0 : f1Sum / labels.Count,
        };
    }

    public static Metrics Regression(IReadOnlyList<double> gold, IReadOnlyList<double> predicted)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        if (gold.Count != predicted.Count) throw new ArgumentException("gold and predicted differ in length", nameof(predicted));
        int n = gold.Count;
        double se = 0, ae = 0;
        for (int i = 0; i < n; i++)
        {
            double d = predicted[i] - gold[i];
            se += d * d;
            ae += Math.Abs(d);
        }
        double mean = n == 0 ? 0 : gold.Average();
        double ss = gold.Sum(g => (g - mean) * (g - mean));
        return new Metrics
        {
            Kind = TaskKind.Regression,
            Count = n,
            Mse = n == 0 ? 0 : se / n,
            Mae = n == 0 ? 0 : ae / n,
            Pearson = Correlation(gold, predicted),
            Spearman = Correlation(Ranks(gold), Ranks(predicted)),
            R2 = ss == 0 ? 0 : 1 - se / ss,
        };
    }

    /// <summary>Pearson's r; 0 when either side is constant (undefined; reported as no correlation).</summary>
    internal static double Correlation(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        if (n < 2) return 0;
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Fractional ranks (ties share their average rank), as Spearman's rho needs.</summary>
    internal static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && values[order[j + 1]] == values[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }
}
