namespace PredGen.Training.Mine;

/// <summary>One point of the training curve: the mean mini-batch bound since the previous point, and the bound on the
/// validation part (the one early stopping watches).</summary>
public sealed record MineCurvePoint(int Step, double TrainBound, double ValidationBound);

/// <summary>One seed's run: its held-out estimate and where early stopping put the best state. Selected: "trained", or
/// "constant" when no trained critic beat the constant one on the validation part (the estimate is then its 0).</summary>
public sealed record MineSeedResult(int Seed, double EstimateNats, double BestValidationNats, int BestStep, int StepsRun, string Selected = "trained");

/// <summary>
/// A MINE estimate of I(Z; Y) in nats, computed on held-out samples. The interval is the percentile interval of the
/// pooled bootstrap replicates of every seed's held-out evaluation, so it carries both the evaluation noise and the
/// seed-to-seed spread of training. When every seed selected the constant critic there is no estimate: Estimable is
/// false, the interval is null, and EstimateNats is the constant critic's trivial bound 0, not a measurement.
/// </summary>
public sealed record MineEstimate
{
    public required double EstimateNats { get; init; }
    /// <summary>Null when not <see cref="Estimable"/>: a [0, 0] interval would read as a confident "no information".</summary>
    public required double? CiLow { get; init; }
    public required double? CiHigh { get; init; }
    /// <summary>"trained", or "constant" when no seed's trained critic beat the constant critic on its validation part.</summary>
    public string Selected { get; init; } = "trained";
    /// <summary>Seeds whose run selected the constant critic (each contributes 0 to the estimate and its interval).</summary>
    public int ConstantSeeds { get; init; }
    /// <summary>False when <see cref="Selected"/> is "constant": no trained critic found information these rows can show.</summary>
    public bool Estimable { get; init; } = true;
    /// <summary>Why there is no estimate, in words ("not estimable with N rows: ...").</summary>
    public string? Note { get; init; }
    /// <summary>The per-column map applied before the critic: "copula", "standardize" or "none" (<see cref="MarginalTransform"/>).</summary>
    public string Transform { get; init; } = "copula";
    /// <summary>Columns of Z (and of Y) that the copula transform rank-mapped; the others had few distinct values and
    /// were standardised. 0 for the other transforms.</summary>
    public int ZCopulaColumns { get; init; }
    public int YCopulaColumns { get; init; }
    /// <summary>Held-out rows (first seed) taken from the rows the caller asked to hold out first, e.g. a model's
    /// validation and test rows; null when the caller named none.</summary>
    public int? HeldOutPreferredRows { get; init; }
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
