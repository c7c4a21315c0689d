using System.Text.RegularExpressions;

namespace PredGen.Training.Mine;

/// <summary>How strongly one input word goes with one predicted label.</summary>
/// <param name="Npmi">Normalised pointwise MI of (word present, label predicted), in [-1, 1]: 1 = the word appears only
/// with that label (and the label only with it), 0 = independent.</param>
/// <param name="Pmi">Pointwise MI in nats: log p(word, label) / (p(word) p(label)).</param>
/// <param name="MiNats">I(word present; predicted label) in nats over all labels: how much knowing whether the word occurs
/// tells about the predicted label.</param>
public sealed record TokenScore(string Token, double Npmi, double Pmi, double MiNats, int CountWithLabel, int Count);

public sealed record LabelTokens(string Label, int Predicted, IReadOnlyList<TokenScore> TopTokens);

public sealed record TokenAssociationReport(
    string Method, int Examples, int Vocabulary, int MinCount, double Smoothing,
    IReadOnlyList<LabelTokens> Labels, IReadOnlyList<TokenScore> MostInformative);

/// <summary>
/// Which input words carry information about the label a model predicts: the token-level analysis of PredGen's paper
/// ("positive" goes with "funny" 0.47, "pretty" 0.34). A named proxy, not MINE: for every word w the binary variable
/// X_w = "w occurs in the input" against the predicted label Ŷ, from the 2 x C contingency table with add-α smoothing.
/// Per label the words are ranked by NPMI(X_w = 1; Ŷ = c) (bounded in [-1, 1], so rare words cannot dominate as they do
/// with raw PMI), and overall by I(X_w; Ŷ). A discrete plug-in estimate is the right tool here: X_w has one bit, so a
/// neural bound would only add variance. Words, not model tokens: byte-level tokens carry no readable meaning.
/// </summary>
public static partial class TokenLabelAssociation
{
    public const string MethodName = "word_presence_npmi";

    public static TokenAssociationReport Analyze(IReadOnlyList<string> texts, IReadOnlyList<string> predictedLabels,
        int top = 10, int minCount = 3, double smoothing = 0.5)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(predictedLabels);
        if (texts.Count != predictedLabels.Count) throw new ArgumentException($"{texts.Count} texts but {predictedLabels.Count} labels", nameof(predictedLabels));
        int n = texts.Count;
        var labels = predictedLabels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var labelIndex = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        int c = labels.Length;
        var labelCounts = new int[c];
        var withLabel = new Dictionary<string, int[]>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            int label = labelIndex[predictedLabels[i]];
            labelCounts[label]++;
            foreach (string word in Words(texts[i]).Distinct(StringComparer.Ordinal))
            {
                if (!withLabel.TryGetValue(word, out var counts)) withLabel[word] = counts = new int[c];
                counts[label]++;
            }
        }

        var scores = new Dictionary<string, TokenScore[]>(StringComparer.Ordinal);
        double total = n + 2 * c * smoothing;
        foreach (var (word, counts) in withLabel)
        {
            int count = counts.Sum();
            if (count < minCount || c < 2) continue;
            // Smoothed 2 x C table: row 1 = word present, row 0 = absent.
            var present = counts.Select(k => (k + smoothing) / total).ToArray();
            var absent = counts.Select((k, j) => (labelCounts[j] - k + smoothing) / total).ToArray();
            double pPresent = present.Sum(), pAbsent = absent.Sum();
            double mi = 0;
            for (int j = 0; j < c; j++)
            {
                double pLabel = present[j] + absent[j];
                mi += present[j] * Math.Log(present[j] / (pPresent * pLabel)) + absent[j] * Math.Log(absent[j] / (pAbsent * pLabel));
            }
            var perLabel = new TokenScore[c];
            for (int j = 0; j < c; j++)
            {
                double pLabel = present[j] + absent[j];
                double pmi = Math.Log(present[j] / (pPresent * pLabel));
                double npmi = pmi / -Math.Log(present[j]);
                perLabel[j] = new TokenScore(word, Math.Round(npmi, 4), Math.Round(pmi, 4), Math.Round(mi, 5), counts[j], count);
            }
            scores[word] = perLabel;
        }

        var byLabel = labels.Select((label, j) => new LabelTokens(label, labelCounts[j],
            scores.Values.Select(s => s[j]).Where(s => s.Npmi > 0 && s.CountWithLabel > 0)
                .OrderByDescending(s => s.Npmi).ThenByDescending(s => s.CountWithLabel).ThenBy(s => s.Token, StringComparer.Ordinal)
                .Take(top).ToArray())).ToArray();
        var overall = scores.Values.Select(s => s.MaxBy(x => x.Npmi)!)
            .OrderByDescending(s => s.MiNats).ThenBy(s => s.Token, StringComparer.Ordinal).Take(top).ToArray();
        return new TokenAssociationReport(MethodName, n, withLabel.Count, minCount, smoothing, byLabel, overall);
    }

    /// <summary>Lower-cased words: runs of letters and digits (an inner apostrophe stays: "isn't").</summary>
    public static IEnumerable<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (Match m in WordPattern().Matches(text)) yield return m.Value.ToLowerInvariant();
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+(?:'[\p{L}]+)?")]
    private static partial Regex WordPattern();
}
