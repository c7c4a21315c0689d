using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// Combines the writer's loss L_W (generation cross-entropy) and the director's loss L_D (task CE or MSE) into one
/// objective (PredGen, arXiv 2502.17817, Writer-Director Alignment Loss).
/// <para>
/// For positive losses exp(−|log a − log b|) = min(a,b)/max(a,b), so the paper's form
/// max(a², b²)·exp(−|log a − log b|) equals max·min = L_W·L_D, and the reference code's stabilised form equals
/// log(1+a) + log(1+b) + (1+a)(1+b). Both are computed through that ratio instead of logarithms: the value is the
/// same, and the gradient stays finite when a loss reaches 0 (log 0 would make it NaN).
/// </para>
/// </summary>
public static class WriterDirectorLoss
{
    /// <summary>Keeps the ratio's denominator away from 0; far below any loss that matters.</summary>
    private const double Epsilon = 1e-12;

    public static Tensor Combine(Tensor writerLoss, Tensor directorLoss, LossVariant variant)
    {
        ArgumentNullException.ThrowIfNull(writerLoss);
        ArgumentNullException.ThrowIfNull(directorLoss);
        switch (variant)
        {
            case LossVariant.Wdal:
            {
                // max² · exp(−|log max − log min|) = max² · min / max
                var hi = maximum(writerLoss, directorLoss);
                var lo = minimum(writerLoss, directorLoss);
                return hi.square() * (lo / hi.clamp_min(Epsilon));
            }
            case LossVariant.WdalStabilized:
            {
                var w1 = writerLoss + 1;
                var d1 = directorLoss + 1;
                var hi = maximum(w1, d1);
                var lo = minimum(w1, d1);
                // (max(L_W, L_D) + 1)² · exp(−|log(1+L_W) − log(1+L_D)|) = (1+max)² · (1+min)/(1+max)
                return w1.log() + d1.log() + hi.square() * (lo / hi);
            }
            case LossVariant.Sum:
                return writerLoss + directorLoss;
            default:
                throw new ArgumentOutOfRangeException(nameof(variant), variant, "unknown loss variant");
        }
    }

    /// <summary>The same quantities in doubles, written literally as in the paper and the reference code (for tests and
    /// metrics when a tensor is not at hand).</summary>
    public static double Combine(double writerLoss, double directorLoss, LossVariant variant) => variant switch
    {
        LossVariant.Wdal => Math.Max(writerLoss * writerLoss, directorLoss * directorLoss)
                            * Math.Exp(-Math.Abs(Math.Log(writerLoss) - Math.Log(directorLoss))),
        LossVariant.WdalStabilized => Math.Log(1 + writerLoss) + Math.Log(1 + directorLoss)
                            + Math.Pow(Math.Max(writerLoss, directorLoss) + 1, 2)
                            * Math.Exp(-Math.Abs(Math.Log(1 + writerLoss) - Math.Log(1 + directorLoss))),
        LossVariant.Sum => writerLoss + directorLoss,
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, "unknown loss variant"),
    };
}
