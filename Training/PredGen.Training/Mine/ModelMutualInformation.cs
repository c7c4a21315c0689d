using System.Diagnostics;
using PredGen.Shared.Data;
using PredGen.Training.Methods;

namespace PredGen.Training.Mine;

/// <summary>One representation's MI with the target: "token" (Z, the answer positions' hidden states concatenated),
/// "pooled" (Generator/PredGen: their mean; Predictor: Z_p, the pooled prompt).</summary>
public sealed record RepresentationEstimate(string Representation, int Dimensions, double EstimateNats, double CiLow, double CiHigh, MineEstimate Details);

/// <summary>
/// The mutual-information analysis of one fine-tuned model (the paper's I(Y; Z) >= I(Y; Z_p) check): MINE on its
/// representations against the gold target, and which input words go with the label it predicts.
/// </summary>
public sealed record ModelMiReport
{
    public required string Method { get; init; }
    public required string TaskKind { get; init; }
    public required int Examples { get; init; }
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
    public const int MinimumRows = 20;

    public static ModelMiReport Analyse(TrainedModel model, IReadOnlyList<PreparedRow> rows, MineOptions? options = null,
        int batchSize = 16, bool tokenAnalysis = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        options ??= new MineOptions();
        var clock = Stopwatch.StartNew();
        var card = model.Card;
        bool classification = card.TaskKind == Shared.Data.TaskKind.Classification;
        var labels = card.Labels ?? [];
        var labelIndex = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        var usable = rows.Where(r => classification ? r.Label != null && labelIndex.ContainsKey(r.Label) : r.Value != null).ToList();
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
            if (classification && tokenAnalysis)
                predicted.AddRange(model.Predict(batch, withProbabilities: false, withText: false).Select(p => p.Label ?? ""));
        }

        var y = usable.Select(r => classification ? OneHot(labelIndex[r.Label!], labels.Count) : [(float)r.Value!.Value]).ToArray();
        var estimates = new List<RepresentationEstimate>();
        if (enough && token.Count == usable.Count && token.Count > 0)
            estimates.Add(Estimate("token", token, y, options, cancellationToken));
        if (enough) estimates.Add(Estimate("pooled", pooled, y, options, cancellationToken));

        double? entropy = null;
        if (classification)
            entropy = -usable.GroupBy(r => r.Label).Select(g => (double)g.Count() / usable.Count).Sum(p => p * Math.Log(p));

        TokenAssociationReport? analysis = classification && tokenAnalysis
            ? TokenLabelAssociation.Analyze(usable.Select(r => r.TextB is null ? r.Text : r.Text + " " + r.TextB).ToList(), predicted)
            : null;

        return new ModelMiReport
        {
            Method = card.Method.ToString(),
            TaskKind = card.TaskKind.ToString(),
            Examples = usable.Count,
            Target = classification ? $"one-hot over {labels.Count} labels" : "value",
            Bound = MineOptions.Name(options.Bound),
            Representations = estimates,
            PoolingLossNats = estimates.Count == 2 ? estimates[0].EstimateNats - estimates[1].EstimateNats : null,
            TargetEntropyNats = entropy,
            TokenAnalysis = analysis,
            Note = enough ? null : $"{usable.Count} usable rows: MINE needs at least {MinimumRows} (train, validation and held-out parts); no estimate",
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    private static RepresentationEstimate Estimate(string name, IReadOnlyList<float[]> z, IReadOnlyList<float[]> y, MineOptions options,
        CancellationToken cancellationToken)
    {
        var e = MineEstimator.Estimate(z, y, options, cancellationToken: cancellationToken);
        return new RepresentationEstimate(name, e.ZDim, e.EstimateNats, e.CiLow, e.CiHigh, e);
    }

    private static float[] OneHot(int index, int count)
    {
        var v = new float[count];
        v[index] = 1;
        return v;
    }
}
