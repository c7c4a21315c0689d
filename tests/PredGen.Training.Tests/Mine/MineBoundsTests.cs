using PredGen.Training.Mine;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Mine;

/// <summary>The bound formulas, checked with the analytic critic T = log p(z,y)/(p(z)p(y)) of correlated Gaussians,
/// where DV and NWJ (with T + 1) are tight and InfoNCE is capped at log(candidates).</summary>
public sealed class MineBoundsTests
{
    [Theory]
    [InlineData(2, 1.0)]
    [InlineData(2, 3.0)]
    [InlineData(20, 3.0)]
    public void With_the_true_log_density_ratio_DV_and_NWJ_recover_the_known_mutual_information(int d, double nats)
    {
        using var scope = NewDisposeScope();
        double rho = CorrelatedGaussians.RhoFor(d, nats);
        var (z, y) = CorrelatedGaussians.Sample(4000, d, rho, seed: 5);
        var (joint, marginal, partners) = AnalyticScores(z, y, rho, negatives: 1024);

        double dv = MineBounds.Value(MineBound.DonskerVaradhan, joint, marginal).item<float>();
        double nwj = MineBounds.Value(MineBound.Nwj, joint + 1, marginal + 1).item<float>();
        double nce = MineBounds.Value(MineBound.InfoNce, joint, marginal).item<float>();
        using var ones = torch.ones(z.Length, dtype: ScalarType.Float64);
        double dvWeighted = MineBounds.Weighted(MineBound.DonskerVaradhan, joint, marginal, partners, ones);

        Assert.InRange(dv, nats * 0.95, nats * 1.05);
        Assert.InRange(nwj, nats * 0.95, nats * 1.05);
        Assert.Equal(dv, dvWeighted, 3);
        Assert.True(nce <= Math.Log(1025) + 1e-6, $"InfoNCE {nce} above log(1025)");
        Assert.True(nce < dv, $"InfoNCE {nce} should be the looser bound here (DV {dv})");
    }

    [Fact]
    public void A_critic_that_ignores_y_gives_zero_for_every_bound()
    {
        using var scope = NewDisposeScope();
        var joint = zeros(100);
        var marginal = zeros(100, 99);
        Assert.Equal(0, MineBounds.Value(MineBound.DonskerVaradhan, joint, marginal).item<float>(), 6);
        Assert.Equal(0, MineBounds.Value(MineBound.Nwj, joint + 1, marginal + 1).item<float>(), 6);
        Assert.Equal(0, MineBounds.Value(MineBound.InfoNce, joint, marginal).item<float>(), 6);
    }

    [Fact]
    public void A_bootstrap_count_of_zero_removes_a_sample_and_all_its_pairs()
    {
        using var scope = NewDisposeScope();
        // Sample 2 is an outlier; with count 0 the weighted DV equals the DV of the other three samples alone.
        var joint = tensor(new float[] { 1, 2, 9, 3 });
        var marginal = tensor(new float[,] { { 0, 1 }, { 1, 5 }, { 2, 0.5f }, { 5, 0 } });
        var partners = tensor(new long[,] { { 1, 2 }, { 2, 3 }, { 3, 0 }, { 0, 1 } });
        var counts = tensor(new double[] { 1, 1, 0, 1 });
        double weighted = MineBounds.Weighted(MineBound.DonskerVaradhan, joint, marginal, partners, counts);
        // Remaining pairs: (0,1)=0, (1,3)=5, (3,0)=5, (3,1)=0.
        double expected = (1 + 2 + 3) / 3.0 - Math.Log((1 + Math.Exp(5) + Math.Exp(5) + 1) / 4);
        Assert.Equal(expected, weighted, 5);
    }

    internal static (Tensor Joint, Tensor Marginal, Tensor Partners) AnalyticScores(float[][] z, float[][] y, double rho, int negatives)
    {
        int n = z.Length;
        var rng = new Random(3);
        var partners = MineEstimator.ShiftPartners(n, negatives, rng);
        var p = partners.data<long>().ToArray();
        var joint = new float[n];
        var marginal = new float[n * negatives];
        for (int i = 0; i < n; i++)
        {
            joint[i] = (float)LogRatio(z[i], y[i], rho);
            for (int k = 0; k < negatives; k++) marginal[i * negatives + k] = (float)LogRatio(z[i], y[p[i * negatives + k]], rho);
        }
        return (tensor(joint), tensor(marginal, [n, negatives]), partners);
    }

    private static double LogRatio(float[] z, float[] y, double rho)
    {
        double s = 0, c = 1 - rho * rho;
        for (int k = 0; k < z.Length; k++)
            s += -0.5 * Math.Log(c) - (rho * rho * (z[k] * z[k] + y[k] * y[k]) - 2 * rho * z[k] * y[k]) / (2 * c);
        return s;
    }
}
