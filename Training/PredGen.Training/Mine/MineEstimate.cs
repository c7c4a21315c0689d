namespace PredGen.Training.Mine;

/// <summary>One point of the training curve: the mean mini-batch bound since the previous point, and the bound on the
/// validation part (the one early stopping watches).</summary>
public sealed record MineCurvePoint(int Step, double TrainBound, double ValidationBound);

/// <summary>One seed's run: its held-out estimate and where early stopping put the best state.</summary>
public sealed record MineSeedResult(int Seed, double EstimateNats, double BestValidationNats, int BestStep, int StepsRun);

/// <summary>
/// A MINE estimate of I(Z; Y) in nats, computed on held-out samples. The interval is the percentile interval of the
/// pooled bootstrap replicates of every seed's held-out evaluation, so it carries both the evaluation noise and the
/// seed-to-seed spread of training.
/// </summary>
public sealed record MineEstimate
{
    public required double EstimateNats { get; init; }
    public required double CiLow { get; init; }
    public required double CiHigh { get; init; }
    public required double ConfidenceLevel { get; init; }
    public required string Bound { get; init; }
    public required string Critic { get; init; }
    public required int N { get; init; }
    public required int ZDim { get; init; }
    /// <summary>Dimensions the critic saw: ZDim, or the principal components Z was projected onto (<see cref="MineOptions.ZComponents"/>).</summary>
    public int ZComponents { get; init; }
    /// <summary>"none" or "pca".</summary>
    public string ZProjection { get; init; } = "none";
    public required int YDim { get; init; }
    public required int TrainSize { get; init; }
    public required int ValidationSize { get; init; }
    public required int HeldOutSize { get; init; }
    /// <summary>Negatives per held-out sample in the evaluation.</summary>
    public required int EvalNegatives { get; init; }
    /// <summary>InfoNCE cannot exceed log(candidates); null for the other bounds.</summary>
    public double? UpperLimitNats { get; init; }
    public required int Seeds { get; init; }
    public required double SeedStd { get; init; }
    public required IReadOnlyList<MineSeedResult> PerSeed { get; init; }
    public required int BootstrapSamples { get; init; }
    public required int CurveLength { get; init; }
    /// <summary>The first seed's curve.</summary>
    public required IReadOnlyList<MineCurvePoint> Curve { get; init; }
    public required double Seconds { get; init; }
}
