namespace PredGen.Training.Optimization;

/// <summary>
/// Linear warm-up to the peak learning rate, then cosine decay over the remaining <c>totalSteps - warmupSteps</c> steps
/// towards <c>minRatio</c> x peak (the schedule of the Llama and GPT-3 papers, with Hugging Face's
/// get_cosine_schedule_with_warmup convention: the floor is reached at step <c>totalSteps</c>, so the last update,
/// step <c>totalSteps - 1</c>, still moves the weights when the floor is 0). A pure function of the step, so a resumed
/// run continues on the same curve. The one schedule of fine-tuning and pretraining.
/// </summary>
public static class WarmupCosineSchedule
{
    public static double LearningRate(int step, int totalSteps, int warmupSteps, double peak, double minRatio)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        if (warmupSteps > 0 && step < warmupSteps) return peak * (step + 1) / warmupSteps;
        double progress = Math.Clamp((double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps), 0, 1);
        return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
