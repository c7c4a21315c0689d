using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Mine;

/// <summary>
/// The three lower bounds on I(Z; Y), written on a score table: <c>joint[i] = T(z_i, y_i)</c> (samples of P = p(z, y))
/// and <c>marginal[i, k] = T(z_i, y_{partner(i, k)})</c> with partner ≠ i (samples of Q = p(z) p(y)).
/// Pure functions: they hold no state and are tested against analytic critics.
/// </summary>
public static class MineBounds
{
    /// <summary>The bound value on a mini-batch or an evaluation set (a 0-dim tensor, differentiable).</summary>
    public static Tensor Value(MineBound bound, Tensor joint, Tensor marginal)
    {
        ArgumentNullException.ThrowIfNull(joint);
        ArgumentNullException.ThrowIfNull(marginal);
        return bound switch
        {
            MineBound.DonskerVaradhan => joint.mean() - LogMeanExp(marginal),
            MineBound.Nwj => joint.mean() - (marginal - 1).exp().mean(),
            MineBound.InfoNce => InfoNceTerms(joint, marginal).mean(),
            _ => throw new ArgumentOutOfRangeException(nameof(bound)),
        };
    }

    /// <summary>log of the mean of e^x over every element, without overflow.</summary>
    public static Tensor LogMeanExp(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.flatten().logsumexp(0) - Math.Log(x.numel());
    }

    /// <summary>Per-sample InfoNCE terms: T(z_i, y_i) - log((e^T(z_i,y_i) + Σ_k e^T(z_i,y_k)) / (K + 1)).
    /// Their mean never exceeds log(K + 1), the number of candidates.</summary>
    public static Tensor InfoNceTerms(Tensor joint, Tensor marginal)
    {
        ArgumentNullException.ThrowIfNull(joint);
        ArgumentNullException.ThrowIfNull(marginal);
        var all = cat([joint.unsqueeze(1), marginal], 1);
        return joint - all.logsumexp(1) + Math.Log(all.shape[1]);
    }

    /// <summary>
    /// The bound on a resample of the evaluation set: sample i appears <paramref name="counts"/>[i] times, so the joint
    /// term weighs i by c_i and the pair (i, partner) by c_i c_partner (the pairs a resampled set would contain).
    /// With all counts 1 this is <see cref="Value"/>.
    /// </summary>
    public static double Weighted(MineBound bound, Tensor joint, Tensor marginal, Tensor partners, Tensor counts)
    {
        ArgumentNullException.ThrowIfNull(joint);
        ArgumentNullException.ThrowIfNull(marginal);
        ArgumentNullException.ThrowIfNull(partners);
        ArgumentNullException.ThrowIfNull(counts);
        using var scope = NewDisposeScope();
        var c = counts.to_type(ScalarType.Float64);
        var j = joint.to_type(ScalarType.Float64);
        double total = c.sum().item<double>();
        if (bound == MineBound.InfoNce)
            return (InfoNceTerms(j, marginal.to_type(ScalarType.Float64)) * c).sum().item<double>() / total;
        double jointTerm = (j * c).sum().item<double>() / total;
        var w = c.unsqueeze(1) * c.index_select(0, partners.flatten()).view(partners.shape);
        var m = marginal.to_type(ScalarType.Float64);
        double wTotal = w.sum().item<double>();
        if (bound == MineBound.DonskerVaradhan)
        {
            var logW = w.log(); // -inf where a pair is absent from the resample; logsumexp skips it
            return jointTerm - ((m + logW).flatten().logsumexp(0).item<double>() - Math.Log(wTotal));
        }
        return jointTerm - ((m - 1).exp() * w).sum().item<double>() / wTotal;
    }
}
