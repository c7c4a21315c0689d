namespace PredGen.Shared.Jobs;

/// <summary>One setting a short trial tries: the peak learning rate, and LoRA or full fine-tuning.</summary>
public sealed record TrialCandidate(double LearningRate, bool UseLora);

/// <summary>
/// The learning-rate search's candidates and budget, in one place for both hosts: <c>predgen train</c> runs them
/// in-process, the Retrain pipeline as trial jobs. Data, not code paths: a change here changes both.
/// <para>Small bases (the project's own, up to <see cref="SmallBaseParameters"/>) try full fine-tuning at three
/// learning rates a decade apart in half-decade steps, and LoRA at a high rate (LoRA's updates are scaled by
/// alpha/r and start from zero, so it needs a larger rate than full fine-tuning). Larger bases try LoRA only: full
/// fine-tuning of billions of parameters is neither affordable per trial nor usually better.</para>
/// </summary>
public static class TrialGrid
{
    public const long SmallBaseParameters = 100_000_000;

    public static IReadOnlyList<TrialCandidate> Small { get; } =
    [
        new(1e-3, UseLora: false),
        new(3e-4, UseLora: false),
        new(3e-3, UseLora: false),
        new(3e-3, UseLora: true),
    ];

    public static IReadOnlyList<TrialCandidate> Large { get; } =
    [
        new(3e-4, UseLora: true),
        new(1e-4, UseLora: true),
        new(1e-3, UseLora: true),
    ];

    public static IReadOnlyList<TrialCandidate> For(long baseParameters) => baseParameters <= SmallBaseParameters ? Small : Large;

    /// <summary>Optimizer steps of one trial: a quarter of the real run, at least 20 and at most 100.</summary>
    public static int TrialSteps(int totalSteps) => Math.Clamp(totalSteps / 4, 20, 100);
}
