namespace PredGen.Training.Mine;

/// <summary>Which variational lower bound on I(Z; Y) the statistics network is trained on and evaluated with.</summary>
public enum MineBound
{
    /// <summary>Donsker-Varadhan: E_P[T] - log E_Q[e^T] (MINE, Belghazi et al. 2018, eq. 10), trained with the
    /// moving-average bias correction of the gradient (their section 3.2).</summary>
    DonskerVaradhan,

    /// <summary>f-divergence / NWJ: E_P[T] - E_Q[e^(T-1)] (MINE-f). Unbiased mini-batch gradients, looser and noisier.</summary>
    Nwj,

    /// <summary>InfoNCE (van den Oord et al. 2018): low variance, but never above log(number of candidates).</summary>
    InfoNce,
}

/// <summary>How T(z, y) is built.</summary>
public enum CriticKind
{
    /// <summary>T(z, y) = f(z)·g(y) with two MLPs. Every (z_i, y_j) pair of a batch costs one matmul, so the marginal term
    /// of every step averages over all B(B-1) product-of-marginals pairs instead of B shuffled ones. It loses nothing
    /// where it matters here: for a one-hot Y with C classes any T is f(z)·y with f_c(z) = T(z, c) (embedding ≥ C), and
    /// the log density ratio of correlated Gaussians is a sum of a z-term, a y-term and z'Ay (embedding d + 2).</summary>
    Separable,

    /// <summary>The original MINE critic: one MLP on [z; y]. Universal, but each negative pair costs a forward pass, so a
    /// step uses a few shifted negatives per sample.</summary>
    Concat,
}

/// <summary>How each Z and Y column is mapped before the critic sees it (fitted on the training part of each seed's
/// split, applied to its validation and held-out rows).</summary>
public enum MarginalTransform
{
    /// <summary>Rank-Gaussianization (<see cref="RankGaussianization"/>) of every continuous column; columns with few
    /// distinct values (one-hot labels, counts) are standardised instead. MI-preserving and robust to heavy tails.</summary>
    Copula,

    /// <summary>Subtract the training mean, divide by the training standard deviation.</summary>
    Standardize,

    /// <summary>The raw values.</summary>
    None,
}

/// <summary>Settings of one MINE estimate. Defaults are the ones the Gaussian benchmark validates.</summary>
public sealed record MineOptions
{
    public MineBound Bound { get; init; } = MineBound.DonskerVaradhan;

    public CriticKind Critic { get; init; } = CriticKind.Separable;

    /// <summary>Hidden width of the MLPs.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Hidden layers of each MLP.</summary>
    public int HiddenLayers { get; init; } = 2;

    /// <summary>Width of f(z) and g(y) for the separable critic (raised to the Y dimension + 2 when smaller).</summary>
    public int EmbeddingSize { get; init; } = 64;

    public double LearningRate { get; init; } = 3e-4;

    /// <summary>Decoupled weight decay (AdamW): T is fitted on a finite sample and overfits it otherwise.</summary>
    public double WeightDecay { get; init; }

    public int BatchSize { get; init; } = 256;

    /// <summary>Largest gradient norm per step; the e^T terms of DV and NWJ put rare, huge gradients on a few marginal
    /// pairs at high MI, and clipping keeps one of them from wiping out what T has learnt. 0 turns clipping off.</summary>
    public double GradientClip { get; init; } = 1.0;

    /// <summary>Upper limit on optimizer steps; early stopping usually ends training before.</summary>
    public int MaxSteps { get; init; } = 4000;

    /// <summary>Steps between two evaluations of the bound on the validation part (one point of the training curve).</summary>
    public int EvalEvery { get; init; } = 100;

    /// <summary>Evaluations without a better validation bound before training stops (the best state is kept).</summary>
    public int Patience { get; init; } = 6;

    /// <summary>Rate of the moving average of E_Q[e^T] that replaces the denominator of the DV gradient
    /// (MINE's bias correction); 0 turns the correction off (plain gradient of the mini-batch DV bound).</summary>
    public double MovingAverageRate { get; init; } = 0.01;

    /// <summary>Negatives per sample and step; null: all B-1 for the separable critic, 32 for the concat critic.</summary>
    public int? TrainNegatives { get; init; }

    /// <summary>Negatives per held-out sample when the bound is evaluated (capped at n-1).</summary>
    public int EvalNegatives { get; init; } = 1024;

    /// <summary>Fractions of the samples used to train T and to stop early; the rest is the held-out part the estimate
    /// is computed on. Stopping and reporting use different parts, so picking the best evaluation adds no upward bias.</summary>
    public double TrainFraction { get; init; } = 0.6;

    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Independent runs (split, initialisation and batches all change with the seed).</summary>
    public int Seeds { get; init; } = 3;

    public int Seed { get; init; } = 1;

    /// <summary>Bootstrap resamples of each held-out evaluation.</summary>
    public int BootstrapSamples { get; init; } = 200;

    public double ConfidenceLevel { get; init; } = 0.95;

    /// <summary>The per-column map applied before the critic: the copula transform by default (the estimate then
    /// survives heavy tails and monotone bends of the marginals), plain standardisation as the alternative.</summary>
    public MarginalTransform Transform { get; init; } = MarginalTransform.Copula;

    /// <summary>A column with at most this many distinct training values counts as discrete under
    /// <see cref="MarginalTransform.Copula"/> and is standardised instead of rank-mapped.</summary>
    public int DiscreteColumnValues { get; init; } = 16;

    /// <summary>Z wider than the training part can support is projected onto its leading principal components
    /// (fitted on the training part of each seed's split, applied to validation and held-out rows, then
    /// standardised): a critic with hundreds of inputs and a few dozen training pairs memorises them, its held-out
    /// bound goes negative and the estimate collapses to the constant critic's 0. Null: automatic, project when Z
    /// has more than a quarter as many dimensions as training rows, onto max(2, training rows / 8) components;
    /// 0: never project; k: project onto k components whenever Z is wider.</summary>
    public int? ZComponents { get; init; }

    /// <summary>The components Z keeps for <paramref name="trainRows"/> training rows (zDim when no projection).</summary>
    public int ComponentsFor(int zDim, int trainRows)
    {
        if (ZComponents is int k) return k <= 0 || k >= zDim ? zDim : k;
        return zDim * 4 > trainRows ? Math.Min(zDim, Math.Max(2, trainRows / 8)) : zDim;
    }

    public static string Name(MineBound bound) => bound switch
    {
        MineBound.DonskerVaradhan => "dv",
        MineBound.Nwj => "nwj",
        MineBound.InfoNce => "infonce",
        _ => throw new ArgumentOutOfRangeException(nameof(bound)),
    };

    public static MineBound ParseBound(string name) => (name ?? "").Trim().ToLowerInvariant() switch
    {
        "dv" or "donsker-varadhan" or "mine" => MineBound.DonskerVaradhan,
        "nwj" or "mine-f" or "f" => MineBound.Nwj,
        "infonce" or "nce" => MineBound.InfoNce,
        _ => throw new ArgumentException($"bound '{name}' is not one of dv, nwj, infonce", nameof(name)),
    };

    public static string Name(MarginalTransform transform) => transform switch
    {
        MarginalTransform.Copula => "copula",
        MarginalTransform.Standardize => "standardize",
        MarginalTransform.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(transform)),
    };

    public static MarginalTransform ParseTransform(string name) => (name ?? "").Trim().ToLowerInvariant() switch
    {
        "copula" or "rank" or "rank-gauss" or "rank-gaussian" => MarginalTransform.Copula,
        "standardize" or "standardise" or "zscore" => MarginalTransform.Standardize,
        "none" or "raw" => MarginalTransform.None,
        _ => throw new ArgumentException($"transform '{name}' is not one of copula, standardize, none", nameof(name)),
    };

    public static string Name(CriticKind critic) => critic == CriticKind.Separable ? "separable" : "concat";

    public static CriticKind ParseCritic(string name) => (name ?? "").Trim().ToLowerInvariant() switch
    {
        "separable" => CriticKind.Separable,
        "concat" or "joint" => CriticKind.Concat,
        _ => throw new ArgumentException($"critic '{name}' is not one of separable, concat", nameof(name)),
    };

    internal void Validate()
    {
        if (HiddenSize < 1 || HiddenLayers < 0 || EmbeddingSize < 1) throw new ArgumentException("network sizes must be positive");
        if (BatchSize < 2) throw new ArgumentException("BatchSize must be at least 2");
        if (MaxSteps < 1 || EvalEvery < 1 || Patience < 1) throw new ArgumentException("MaxSteps, EvalEvery and Patience must be positive");
        if (TrainFraction <= 0 || ValidationFraction <= 0 || TrainFraction + ValidationFraction >= 1)
            throw new ArgumentException("TrainFraction and ValidationFraction must be positive and leave a held-out part");
        if (Seeds < 1) throw new ArgumentException("Seeds must be at least 1");
        if (ConfidenceLevel <= 0 || ConfidenceLevel >= 1) throw new ArgumentException("ConfidenceLevel must lie in (0, 1)");
        if (MovingAverageRate < 0 || MovingAverageRate > 1) throw new ArgumentException("MovingAverageRate must lie in [0, 1]");
        if (DiscreteColumnValues < 0) throw new ArgumentException("DiscreteColumnValues must not be negative");
    }
}
