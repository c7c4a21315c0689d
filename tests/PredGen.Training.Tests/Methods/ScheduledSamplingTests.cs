using PredGen.Training.Methods;

namespace PredGen.Training.Tests.Methods;

public sealed class ScheduledSamplingTests
{
    [Theory]
    [InlineData(SamplingSchedule.Linear, 0, 0.1)]
    [InlineData(SamplingSchedule.Linear, 50, 0.45)]
    [InlineData(SamplingSchedule.Linear, 100, 0.8)]
    [InlineData(SamplingSchedule.Linear, 500, 0.8)]               // holds p_max after the ramp
    [InlineData(SamplingSchedule.Exponential, 0, 0.1)]
    [InlineData(SamplingSchedule.Exponential, 50, 0.1 + 0.7 * 0.9 / 0.99)] // 1 − 0.01^0.5 = 0.9, rescaled by 0.99
    [InlineData(SamplingSchedule.Exponential, 100, 0.8)]
    [InlineData(SamplingSchedule.InverseSigmoid, 0, 0.1)]
    [InlineData(SamplingSchedule.InverseSigmoid, 100, 0.8)]
    public void P_follows_the_schedule_from_p_min_to_p_max(SamplingSchedule schedule, int step, double expected)
    {
        var s = new ScheduledSampling(schedule, 0.1, 0.8, RampSteps: 100, SamplingMixing.PerToken);
        Assert.Equal(expected, s.Probability(step), 9);
    }

    [Theory]
    [InlineData(SamplingSchedule.Linear)]
    [InlineData(SamplingSchedule.InverseSigmoid)]
    [InlineData(SamplingSchedule.Exponential)]
    public void P_never_decreases_and_stays_within_its_bounds(SamplingSchedule schedule)
    {
        var s = new ScheduledSampling(schedule, 0.2, 0.6, RampSteps: 40, SamplingMixing.PerToken);
        double previous = 0.2;
        for (int step = 0; step <= 60; step++)
        {
            double p = s.Probability(step);
            Assert.InRange(p, 0.2, 0.6 + 1e-12);
            Assert.True(p >= previous - 1e-12, $"p fell at step {step}: {previous} -> {p}");
            previous = p;
        }
    }

    [Fact]
    public void The_inverse_sigmoid_starts_slowly_and_the_exponential_starts_fast()
    {
        var inverse = new ScheduledSampling(SamplingSchedule.InverseSigmoid, 0, 1, 100, SamplingMixing.PerToken);
        var exponential = new ScheduledSampling(SamplingSchedule.Exponential, 0, 1, 100, SamplingMixing.PerToken);
        Assert.True(inverse.Probability(20) < 0.2, $"inverse sigmoid at 20%: {inverse.Probability(20)}");
        Assert.True(exponential.Probability(20) > 0.5, $"exponential at 20%: {exponential.Probability(20)}");
    }

    [Fact]
    public void Per_token_mixing_draws_each_position_and_per_batch_mixing_draws_once()
    {
        var perToken = new ScheduledSampling(SamplingSchedule.Linear, 0, 1, 1, SamplingMixing.PerToken);
        var mask = perToken.DrawMask(64, 8, 0.5, new Random(1));
        int on = 0;
        foreach (bool b in mask) if (b) on++;
        Assert.InRange(on, 200, 312);   // 512 draws at p = 0.5

        var perBatch = new ScheduledSampling(SamplingSchedule.Linear, 0, 1, 1, SamplingMixing.PerBatch);
        for (int seed = 0; seed < 10; seed++)
        {
            var m = perBatch.DrawMask(4, 3, 0.5, new Random(seed));
            var values = m.Cast<bool>().Distinct().ToList();
            Assert.Single(values);
        }
        Assert.All(perToken.DrawMask(4, 4, 1.0, new Random(3)).Cast<bool>(), Assert.True);
        Assert.All(perToken.DrawMask(4, 4, 0.0, new Random(3)).Cast<bool>(), Assert.False);
    }
}
