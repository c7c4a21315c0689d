namespace PredGen.Shared.Jobs;

/// <summary>One setting a learning-rate trial tries: the peak learning rate and LoRA or full fine-tuning.</summary>
public sealed record TrialCandidate(double LearningRate, bool UseLora)
{
    public string FineTuning => UseLora ? "lora" : "full";
}

/// <summary>A trial's outcome: its candidate and the validation score of the model it kept (null: the trial failed).</summary>
public sealed record TrialOutcome(TrialCandidate Candidate, double? ValidationScore);

/// <summary>
/// The learning-rate search (issue 19 item 2), in one place for the Retrain pipeline (one short trial job per method
/// and candidate) and `predgen train` (in-process): which candidates to try, how long each trial runs, and which one
/// wins. Data, not code paths: a request or an option may carry another grid.
/// <para>The trainer's own default (full, 1e-3) comes first, so a tie (every trial at the majority class, say) keeps
/// it. The default grid: on the small bases the project pretrains, full fine-tuning at 3e-4..3e-3 and LoRA at 3e-3
/// (LoRA's adapters start at zero and need a larger step); the trainer's old fixed 2e-4 with LoRA left the Predictor's
/// loss at ln 4 for 300 steps on a 4-class task.</para>
/// </summary>
public sealed record TrialGrid
{
    public IReadOnlyList<TrialCandidate> Candidates { get; init; } =
    [
        new(1e-3, UseLora: false),
        new(3e-4, UseLora: false),
        new(3e-3, UseLora: false),
        new(3e-3, UseLora: true),
    ];

    /// <summary>A trial runs this fraction of the full run's steps, within [<see cref="MinSteps"/>, <see cref="MaxSteps"/>].</summary>
    public double StepFraction { get; init; } = 0.25;

    public int MinSteps { get; init; } = 20;

    public int MaxSteps { get; init; } = 100;

    public static TrialGrid Default { get; } = new();

    /// <summary>Bases above this size try LoRA only: full fine-tuning of hundreds of millions of parameters per trial
    /// is neither affordable nor usually better.</summary>
    public const long SmallBaseParameters = 100_000_000;

    /// <summary>The candidates for a base of <paramref name="baseParameters"/> parameters (LoRA only above
    /// <see cref="SmallBaseParameters"/>, with one lower rate added for large models).</summary>
    public IReadOnlyList<TrialCandidate> CandidatesForBase(long baseParameters) => baseParameters <= SmallBaseParameters
        ? Candidates
        : [new(1e-4, UseLora: true), new(3e-4, UseLora: true), .. Candidates.Where(c => c.UseLora && c.LearningRate > 3e-4)];

    /// <summary>clamp(totalSteps · StepFraction, MinSteps, MaxSteps), and never more than the full run itself.</summary>
    public int TrialSteps(int totalSteps)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), "a run has at least one step");
        int steps = Math.Clamp((int)Math.Round(totalSteps * StepFraction), MinSteps, MaxSteps);
        return Math.Min(steps, totalSteps);
    }

    /// <summary>The candidates to try under <paramref name="settings"/>: none when the learning rate is fixed (the
    /// user chose it), only the fixed fine-tuning mode's when UseLora is fixed.</summary>
    public IReadOnlyList<TrialCandidate> CandidatesFor(TrainingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.LearningRate != null) return [];
        return settings.UseLora is bool lora ? [.. Candidates.Where(c => c.UseLora == lora)] : Candidates;
    }

    /// <summary>The settings a seed job trains with once <paramref name="candidate"/> has won.</summary>
    public static TrainingSettings Apply(TrainingSettings settings, TrialCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(candidate);
        return settings with { LearningRate = candidate.LearningRate, UseLora = candidate.UseLora };
    }

    /// <summary>A trial job's settings: the candidate, <see cref="TrialSteps"/> steps, and one validation (and
    /// checkpoint) at the end, which is the score the trials compare.</summary>
    public TrainingSettings TrialSettings(TrainingSettings settings, TrialCandidate candidate, int totalSteps)
    {
        int steps = TrialSteps(totalSteps);
        return Apply(settings, candidate) with { Steps = steps, EvalEvery = steps, CheckpointEvery = steps };
    }

    /// <summary>The best-scoring candidate (higher is better); on a tie the earlier one in grid order; null when no
    /// trial produced a score.</summary>
    public static TrialCandidate? Choose(IEnumerable<TrialOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        TrialOutcome? best = null;
        foreach (var o in outcomes)
            if (o.ValidationScore is double score && double.IsFinite(score) && (best == null || score > best.ValidationScore!.Value)) best = o;
        return best?.Candidate;
    }
}

/// <summary>The trainer's defaults that the pipeline needs to know a run's length before it starts (the trial budget
/// is a fraction of it); TrainOptions reads its defaults from here.</summary>
public static class TrainingDefaults
{
    public const double Epochs = 3;
    public const int BatchSize = 8;

    /// <summary>The optimizer steps a job with these settings takes: Steps when set, otherwise Epochs over the
    /// training rows (as the trainer computes it).</summary>
    public static int TotalSteps(TrainingSettings settings, int trainRows)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return TotalSteps(settings.Steps ?? 0, Epochs, Math.Max(1, settings.BatchSize ?? BatchSize), trainRows);
    }

    /// <summary>The one rule for a run's length, shared by the trainer and the pipeline: <paramref name="steps"/> when
    /// positive, otherwise ceil(epochs x ceil(trainRows / examplesPerStep)), at least 1.</summary>
    public static int TotalSteps(int steps, double epochs, int examplesPerStep, int trainRows)
    {
        if (steps > 0) return steps;
        if (examplesPerStep < 1) throw new ArgumentOutOfRangeException(nameof(examplesPerStep), examplesPerStep, "a step takes at least one example");
        int stepsPerEpoch = Math.Max(1, (trainRows + examplesPerStep - 1) / examplesPerStep);
        return Math.Max(1, (int)Math.Ceiling(epochs * stepsPerEpoch));
    }
}
