namespace PredGen.Training.Optimization;

/// <summary>
/// Linear warm-up to the peak learning rate, then cosine decay to <c>minRatio</c> x peak at the last step (the
/// schedule of the Llama and GPT-3 papers). A pure function of the step, so a resumed run continues on the same curve.
/// </summary>
public static class WarmupCosineSchedule
{
    public static double LearningRate(int step, int totalSteps, int warmupSteps, double peak, double minRatio)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        if (warmupSteps > 0 && step < warmupSteps) return peak * (step + 1) / warmupSteps;
        double progress = Math.Clamp((double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps - 1), 0, 1);
        return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
