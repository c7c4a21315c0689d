using PredGen.Training.Mine;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Training.Tests.Mine;

/// <summary>The validation suite's truths and target, checked without training a critic (the suite itself runs as
/// `predgen bench mine`).</summary>
public sealed class MineValidationSuiteTests
{
    [Fact]
    public void The_student_t_correction_has_its_closed_form_at_two_degrees_of_freedom_and_vanishes_as_they_grow()
    {
        // ν = 2, dx = dy = 2: g(2) = ln Γ(1) - ln Γ(2) + 2 [ψ(2) - ψ(1)] = 2, g(4) = -ln Γ(3) + 3 [ψ(3) - ψ(1)] = 4.5 - ln 2,
        // so c = 2 g(2) - g(4) = ln 2 - 1/2.
        Assert.Equal(Math.Log(2) - 0.5, MineValidationSuite.StudentTCorrection(2, 2, 2), 10);
        Assert.True(MineValidationSuite.StudentTCorrection(3, 2, 2) > MineValidationSuite.StudentTCorrection(30, 2, 2));
        Assert.InRange(MineValidationSuite.StudentTCorrection(1e6, 2, 2), -1e-6, 1e-5); // rounding in the cancellation
    }

    [Fact]
    public void The_mixture_truth_is_zero_for_equal_means_and_approaches_the_label_entropy_when_they_separate()
    {
        Assert.Equal(0, MineValidationSuite.GaussianMixtureMutualInformation([1, 1, 1], 1), 9);
        Assert.Equal(Math.Log(3), MineValidationSuite.GaussianMixtureMutualInformation([0, 40, 80], 1), 9);
        // Two unit Gaussians 2 apart: 0.3368 nats (a rectangle rule with step 0.001 in Python agrees), well inside (0, ln 2).
        Assert.Equal(0.3368, MineValidationSuite.GaussianMixtureMutualInformation([0, 2], 1), 4);
    }

    [Fact]
    public void Every_case_draws_the_shapes_it_declares_reproducibly_with_truths_up_to_two_nats()
    {
        Assert.Equal(8, MineValidationSuite.Cases.Count);
        Assert.Equal(MineValidationSuite.Cases.Count, MineValidationSuite.Cases.Select(c => c.Name).Distinct().Count());
        foreach (var c in MineValidationSuite.Cases)
        {
            var (z, y) = c.Sample(50, 3);
            var (z2, _) = c.Sample(50, 3);
            Assert.Equal((50, c.ZDim, c.YDim), (z.Length, z[0].Length, y[0].Length));
            Assert.Equal(z[7], z2[7]);
            Assert.InRange(c.TruthNats, 0, 2);
            if (c.EntropyY is double h) Assert.True(c.TruthNats < h, c.Name);
        }
        Assert.Contains(MineValidationSuite.Cases, c => c.TruthNats == 0);
    }

    [Theory]
    [InlineData(1.0, 0.91, true, null, true)]
    [InlineData(1.0, 0.89, true, null, false)]
    [InlineData(1.0, 1.0, false, null, false)]
    [InlineData(0.0, 0.04, true, null, true)]
    [InlineData(0.0, 0.0, false, null, true)]
    [InlineData(0.0, -0.06, true, null, false)]
    [InlineData(0.68, 0.70, true, 0.6931, false)]
    public void The_target_is_ten_percent_of_the_truth_five_hundredths_of_a_nat_at_zero_and_never_above_the_label_entropy(
        double truth, double estimate, bool estimable, double? entropy, bool passes) =>
        Assert.Equal(passes, MineValidationSuite.Passes(truth, estimate, estimable, entropy));
}
