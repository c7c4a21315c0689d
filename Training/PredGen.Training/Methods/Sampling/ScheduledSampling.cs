namespace PredGen.Training.Methods;

/// <summary>
/// Scheduled sampling (Bengio et al. 2015, as PredGen uses it against exposure bias): with probability p the token fed
/// at an answer position is the model's own previous prediction instead of the ground truth. The targets stay the
/// ground truth. p grows from <see cref="MinProbability"/> to <see cref="MaxProbability"/> over <see cref="RampSteps"/>.
/// </summary>
public sealed record ScheduledSampling(SamplingSchedule Schedule, double MinProbability, double MaxProbability, int RampSteps, SamplingMixing Mixing)
{
    /// <summary>Bengio et al.'s k for the inverse sigmoid; with the span below its midpoint sits at half the ramp.</summary>
    private const double InverseSigmoidK = 20.0;

    public static ScheduledSampling From(TrainOptions options, int totalSteps)
    {
        ArgumentNullException.ThrowIfNull(options);
        int ramp = options.SamplingRampSteps > 0 ? options.SamplingRampSteps : Math.Max(1, totalSteps);
        return new ScheduledSampling(options.Schedule, options.SamplingMin, options.SamplingMax, ramp, options.Mixing);
    }

    /// <summary>p at optimizer step <paramref name="step"/> (0-based); stays at p_max after the ramp.</summary>
    public double Probability(int step)
    {
        double s = Math.Clamp(step / (double)Math.Max(1, RampSteps), 0, 1);
        double progress = Schedule switch
        {
            SamplingSchedule.Linear => s,
            // Bengio et al.'s ε_i = k/(k + exp(i/k)) is the teacher-forcing probability; p = 1 − ε, rescaled so that it
            // starts at exactly 0 and ends at exactly 1 over the ramp (s in [0, 1] mapped to i in [0, 2·k·ln k], so the
            // midpoint k·ln k falls at half the ramp).
            SamplingSchedule.InverseSigmoid => Rescale(i => 1 - InverseSigmoidK / (InverseSigmoidK + Math.Exp(i / InverseSigmoidK)), s, 2 * InverseSigmoidK * Math.Log(InverseSigmoidK)),
            // ε_i = c^i with c such that ε reaches 1% at the end of the ramp; rescaled to end at exactly 1.
            SamplingSchedule.Exponential => (1 - Math.Pow(0.01, s)) / 0.99,
            _ => throw new InvalidOperationException($"unknown schedule {Schedule}"),
        };
        return MinProbability + (MaxProbability - MinProbability) * progress;
    }

    private static double Rescale(Func<double, double> f, double s, double span)
    {
        double a = f(0), b = f(span);
        return (f(s * span) - a) / (b - a);
    }

    /// <summary>
    /// Which answer positions get the model's own token: a [rows, length] mask. Per token: each position independently
    /// with probability p (the paper's formula). Per batch: every position of the batch, with probability p (the
    /// reference code). The draws come from <paramref name="random"/>, seeded per step, so a resumed run draws the same.
    /// </summary>
    public bool[,] DrawMask(int rows, int length, double p, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var mask = new bool[rows, length];
        if (Mixing == SamplingMixing.PerBatch)
        {
            bool all = random.NextDouble() < p;
            if (all) for (int r = 0; r < rows; r++) for (int t = 0; t < length; t++) mask[r, t] = true;
            return mask;
        }
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < length; t++)
                mask[r, t] = random.NextDouble() < p;
        return mask;
    }
}
