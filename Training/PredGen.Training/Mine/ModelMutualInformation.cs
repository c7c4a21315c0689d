using System.Diagnostics;
using PredGen.Shared.Data;
using PredGen.Training.Methods;

namespace PredGen.Training.Mine;

/// <summary>One representation's MI with the target: "token" (Z, the answer positions' hidden states concatenated),
/// "pooled" (Generator/PredGen: their mean; Predictor: Z_p, the pooled prompt). The interval is null when the rows could
/// not show any information (<see cref="MineEstimate.Estimable"/>).</summary>
public sealed record RepresentationEstimate(string Representation, int Dimensions, double EstimateNats, double? CiLow, double? CiHigh, MineEstimate Details)
{
    public bool Estimable => Details.Estimable;

    /// <summary>"trained", or "constant" when no trained critic beat the constant one.</summary>
    public string Selected => Details.Selected;
}

/// <summary>
/// The mutual-information analysis of one fine-tuned model (the paper's I(Y; Z) >= I(Y; Z_p) check): MINE on its
/// representations against the gold target, and which input words go with the label it predicts.
/// </summary>
public sealed record ModelMiReport
{
    public required string Method { get; init; }
    public required string TaskKind { get; init; }
    public required int Examples { get; init; }
    /// <summary>Of <see cref="Examples"/>: rows the model did not train on (validation, test), which fill MINE's
    /// held-out part first, and rows of its training split added so the critic has enough pairs to learn from.</summary>
    public int UnseenRows { get; init; }
    public int TrainingRows { get; init; }
    /// <summary>"one-hot over N labels" or "value".</summary>
    public required string Target { get; init; }
    public required string Bound { get; init; }
    public required IReadOnlyList<RepresentationEstimate> Representations { get; init; }
    /// <summary>I(Y; Z) - I(Y; Z_pooled) for Generator/PredGen: what mean-pooling the answer positions throws away.</summary>
    public double? PoolingLossNats { get; init; }
    /// <summary>Classification: the plug-in entropy of the gold labels, the most any representation can carry.</summary>
    public double? TargetEntropyNats { get; init; }
    public TokenAssociationReport? TokenAnalysis { get; init; }
    /// <summary>Why there is no estimate (too few rows), when there is none.</summary>
    public string? Note { get; init; }
    public required double Seconds { get; init; }
}

public static class ModelMutualInformation
{
    /// <summary>Below this there is no estimate: the estimator cannot split fewer rows into its three parts.</summary>
    public const int MinimumRows = 20;

    /// <summary>The stated minimum for an estimate that means something: with fewer rows the critic's training part has
    /// a few dozen pairs, the constant critic often wins, and the interval spans most of [0, H(Y)]. The note says so.</summary>
    public const int RecommendedRows = 200;

    /// <summary>At most this many rows are represented (every forward pass costs; a few thousand pairs pin the estimate
    /// down to a few hundredths of a nat on the Gaussian benchmark).</summary>
    public const int MaxRows = 2000;

    /// <param name="rows">Rows the model did not train on (validation and test): they fill MINE's held-out part first,
    /// so the estimate is measured on unseen rows, and the token analysis reads them.</param>
    /// <param name="trainingRows">The model's training rows: added (up to <see cref="MaxRows"/> rows in all) to give
    /// the critic enough pairs to train on.</param>
    public static ModelMiReport Analyse(TrainedModel model, IReadOnlyList<PreparedRow> rows, MineOptions? options = null,
        IReadOnlyList<PreparedRow>? trainingRows = null, int batchSize = 16, bool tokenAnalysis = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        options ??= new MineOptions();
        var clock = Stopwatch.StartNew();
        var card = model.Card;
        bool classification = card.TaskKind == Shared.Data.TaskKind.Classification;
        var labels = card.Labels ?? [];
        var labelIndex = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        bool Usable(PreparedRow r) => classification ? r.Label != null && labelIndex.ContainsKey(r.Label) : r.Value != null;
        var unseen = rows.Where(Usable).Take(MaxRows).ToList();
        var fitted = (trainingRows ?? []).Where(Usable).Take(MaxRows - unseen.Count).ToList();
        var usable = unseen.Concat(fitted).ToList();
        var heldOutFirst = trainingRows == null ? null : usable.Select((_, i) => i < unseen.Count).ToList();
        // Too few rows for a train / validation / held-out split: report why instead of failing the pipeline's job.
        bool enough = usable.Count >= MinimumRows;

        var pooled = new List<float[]>();
        var token = new List<float[]>();
        var predicted = new List<string>();
        for (int start = 0; start < usable.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = usable.Skip(start).Take(batchSize).Select(r => new TextInput(r.Text, r.TextB)).ToList();
            var set = model.Represent(batch);
            pooled.AddRange(set.Pooled);
            if (set.TokenLevel != null) token.AddRange(set.TokenLevel);
            // Which words go with the predicted label is asked of unseen rows only (the unseen rows come first).
            if (classification && tokenAnalysis && start < unseen.Count)
                predicted.AddRange(model.Predict(batch.Take(unseen.Count - start).ToList(), withProbabilities: false, withText: false).Select(p => p.Label ?? ""));
        }

        var y = usable.Select(r => classification ? OneHot(labelIndex[r.Label!], labels.Count) : [(float)r.Value!.Value]).ToArray();
        var estimates = new List<RepresentationEstimate>();
        if (enough && token.Count == usable.Count && token.Count > 0)
            estimates.Add(Estimate("token", token, y, options, heldOutFirst, cancellationToken));
        if (enough) estimates.Add(Estimate("pooled", pooled, y, options, heldOutFirst, cancellationToken));

        double? entropy = null;
        if (classification)
            entropy = -usable.GroupBy(r => r.Label).Select(g => (double)g.Count() / usable.Count).Sum(p => p * Math.Log(p));

        TokenAssociationReport? analysis = classification && tokenAnalysis
            ? TokenLabelAssociation.Analyze(unseen.Select(r => r.TextB is null ? r.Text : r.Text + " " + r.TextB).ToList(), predicted)
            : null;

        return new ModelMiReport
        {
            Method = card.Method.ToString(),
            TaskKind = card.TaskKind.ToString(),
            Examples = usable.Count,
            UnseenRows = unseen.Count,
            TrainingRows = fitted.Count,
            Target = classification ? $"one-hot over {labels.Count} labels" : "value",
            Bound = MineOptions.Name(options.Bound),
            Representations = estimates,
            PoolingLossNats = estimates.Count == 2 && estimates.All(e => e.Estimable) ? estimates[0].EstimateNats - estimates[1].EstimateNats : null,
            TargetEntropyNats = entropy,
            TokenAnalysis = analysis,
            Note = !enough ? $"{usable.Count} usable rows: MINE needs at least {MinimumRows} (train, validation and held-out parts); no estimate"
                : usable.Count < RecommendedRows ? $"{usable.Count} usable rows, fewer than the {RecommendedRows} an estimate needs to mean much: expect a wide interval or none"
                : null,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    private static RepresentationEstimate Estimate(string name, IReadOnlyList<float[]> z, IReadOnlyList<float[]> y, MineOptions options,
        IReadOnlyList<bool>? heldOutFirst, CancellationToken cancellationToken)
    {
        var e = MineEstimator.Estimate(z, y, options, cancellationToken: cancellationToken, heldOutFirst: heldOutFirst);
        return new RepresentationEstimate(name, e.ZDim, e.EstimateNats, e.CiLow, e.CiHigh, e);
    }

    private static float[] OneHot(int index, int count)
    {
        var v = new float[count];
        v[index] = 1;
        return v;
    }
}
