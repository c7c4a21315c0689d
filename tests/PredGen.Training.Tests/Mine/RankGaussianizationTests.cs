using PredGen.Training.Mine;

namespace PredGen.Training.Tests.Mine;

public sealed class RankGaussianizationTests
{
    [Fact]
    public void Training_values_map_to_the_normal_quantile_of_their_rank_over_n_plus_one()
    {
        var map = RankGaussianization.Fit([5f, -1f, 100f, 2f]);
        // Sorted: -1, 2, 5, 100 with ranks 1..4 of n + 1 = 5.
        Assert.Equal(SpecialFunctions.NormalQuantile(0.2), map.Apply(-1), 12);
        Assert.Equal(SpecialFunctions.NormalQuantile(0.6), map.Apply(5), 12);
        Assert.Equal(SpecialFunctions.NormalQuantile(0.8), map.Apply(100), 12);
        Assert.Equal(4, map.DistinctValues);
    }

    [Fact]
    public void Held_out_values_interpolate_the_ranks_and_values_beyond_the_training_range_go_half_a_rank_further()
    {
        var map = RankGaussianization.Fit([0f, 10f, 20f]);
        // 15 lies halfway between ranks 2 and 3: rank 2.5 of n + 1 = 4.
        Assert.Equal(SpecialFunctions.NormalQuantile(2.5 / 4), map.Apply(15), 12);
        Assert.Equal(SpecialFunctions.NormalQuantile(0.5 / 4), map.Apply(-1000), 12);
        Assert.Equal(SpecialFunctions.NormalQuantile(3.5 / 4), map.Apply(1e9), 12);
        // Monotone: a heavy tail becomes a Gaussian one without reordering anything.
        var inputs = new[] { -5.0, 0, 3, 10, 12, 19.9, 20, 25 };
        var outputs = inputs.Select(map.Apply).ToArray();
        Assert.Equal(outputs.OrderBy(v => v), outputs);
    }

    [Fact]
    public void Ties_share_their_mean_rank()
    {
        var map = RankGaussianization.Fit([1f, 1f, 1f, 2f]);
        Assert.Equal(2, map.DistinctValues);
        Assert.Equal(SpecialFunctions.NormalQuantile(2.0 / 5), map.Apply(1), 12); // ranks 1, 2, 3 -> 2
        Assert.Equal(SpecialFunctions.NormalQuantile(4.0 / 5), map.Apply(2), 12);
    }

    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(0.975, 1.959963984540054)]
    [InlineData(0.001, -3.090232306167814)]
    [InlineData(1e-10, -6.361340902404056)]
    public void The_normal_quantile_matches_reference_values(double p, double expected) =>
        Assert.Equal(expected, SpecialFunctions.NormalQuantile(p), 7);

    [Fact]
    public void Log_gamma_and_digamma_match_closed_forms()
    {
        Assert.Equal(0.5 * Math.Log(Math.PI), SpecialFunctions.LogGamma(0.5), 12); // Γ(1/2) = √π
        Assert.Equal(Math.Log(24), SpecialFunctions.LogGamma(5), 12);
        Assert.Equal(-0.5772156649015329, SpecialFunctions.Digamma(1), 12); // -γ
        Assert.Equal(-0.5772156649015329 - 2 * Math.Log(2), SpecialFunctions.Digamma(0.5), 12);
    }
}
