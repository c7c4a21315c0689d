using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Mine;

/// <summary>
/// MINE (Belghazi et al., 2018): train a statistics network T to maximise a variational lower bound on I(Z; Y) on one
/// part of the samples, stop when the bound on a second part stops improving, and report the bound of the best T on a
/// third, held-out part. Deterministic for a given <see cref="MineOptions.Seed"/>.
/// </summary>
public static class MineEstimator
{
    private const int EvalChunkElements = 1 << 20;

    /// <param name="heldOutFirst">Optional, one flag per row: rows to put in the held-out part before any other (then
    /// in the validation part), e.g. the rows a model did not train on, so the estimate is measured on unseen rows.</param>
    public static MineEstimate Estimate(IReadOnlyList<float[]> z, IReadOnlyList<float[]> y, MineOptions? options = null,
        IReadOnlyList<bool>? heldOutFirst = null, IProgress<MineCurvePoint>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(y);
        options ??= new MineOptions();
        options.Validate();
        int n = z.Count;
        if (y.Count != n) throw new ArgumentException($"z has {n} rows but y has {y.Count}", nameof(y));
        if (n < 20) throw new ArgumentException($"MINE needs at least 20 samples to split into train, validation and held-out parts; got {n}", nameof(z));
        int zDim = Width(z, nameof(z)), yDim = Width(y, nameof(y));
        if (heldOutFirst != null && heldOutFirst.Count != n) throw new ArgumentException($"heldOutFirst has {heldOutFirst.Count} flags for {n} rows", nameof(heldOutFirst));

        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var zAll = ToTensor(z, zDim);
        var yAll = ToTensor(y, yDim);

        int trainSize = Math.Max(2, (int)Math.Round(n * options.TrainFraction));
        int validationSize = Math.Max(2, (int)Math.Round(n * options.ValidationFraction));
        int heldOutSize = n - trainSize - validationSize;
        if (heldOutSize < 2) throw new ArgumentException("the held-out part is empty; lower TrainFraction or ValidationFraction", nameof(options));

        var perSeed = new List<MineSeedResult>();
        var replicates = new List<double>();
        IReadOnlyList<MineCurvePoint> firstCurve = [];
        int evalNegatives = 0;
        SeedRun? first = null;
        for (int s = 0; s < options.Seeds; s++)
        {
            int seed = options.Seed + s;
            var run = RunSeed(zAll, yAll, trainSize, validationSize, seed, options, s == 0 ? progress : null, heldOutFirst, cancellationToken);
            perSeed.Add(run.Result);
            replicates.AddRange(run.Replicates);
            evalNegatives = run.EvalNegatives;
            if (s == 0)
            {
                firstCurve = run.Curve;
                first = run;
            }
        }
        int constantSeeds = perSeed.Count(r => r.Selected == Constant);
        bool estimable = constantSeeds < perSeed.Count;

        double estimate = perSeed.Average(r => r.EstimateNats);
        double seedStd = perSeed.Count > 1
            ? Math.Sqrt(perSeed.Sum(r => (r.EstimateNats - estimate) * (r.EstimateNats - estimate)) / (perSeed.Count - 1))
            : 0;
        // Percentiles of the pooled replicates, widened to include every seed's own estimate when there are few replicates.
        double alpha = (1 - options.ConfidenceLevel) / 2;
        double low = replicates.Count > 0 ? Quantile(replicates, alpha) : perSeed.Min(r => r.EstimateNats);
        double high = replicates.Count > 0 ? Quantile(replicates, 1 - alpha) : perSeed.Max(r => r.EstimateNats);
        low = Math.Min(low, estimate);
        high = Math.Max(high, estimate);

        return new MineEstimate
        {
            EstimateNats = estimate,
            CiLow = estimable ? low : null,
            CiHigh = estimable ? high : null,
            Selected = estimable ? "trained" : Constant,
            ConstantSeeds = constantSeeds,
            Estimable = estimable,
            Note = estimable ? null
                : $"not estimable with {n} rows: in no seed did a trained critic beat the constant critic on the {validationSize} validation rows, so 0 is the trivial bound, not a measurement",
            Transform = MineOptions.Name(options.Transform),
            ZCopulaColumns = first!.ZCopulaColumns,
            YCopulaColumns = first.YCopulaColumns,
            HeldOutPreferredRows = heldOutFirst == null ? null : first.HeldOutPreferred,
            ConfidenceLevel = options.ConfidenceLevel,
            Bound = MineOptions.Name(options.Bound),
            Critic = MineOptions.Name(options.Critic),
            N = n,
            ZDim = zDim,
            ZComponents = options.ComponentsFor(zDim, trainSize),
            ZProjection = options.ComponentsFor(zDim, trainSize) < zDim ? "pca" : "none",
            YDim = yDim,
            TrainSize = trainSize,
            ValidationSize = validationSize,
            HeldOutSize = heldOutSize,
            EvalNegatives = evalNegatives,
            UpperLimitNats = options.Bound == MineBound.InfoNce ? Math.Log(evalNegatives + 1) : null,
            Seeds = options.Seeds,
            SeedStd = seedStd,
            PerSeed = perSeed,
            BootstrapSamples = options.BootstrapSamples,
            CurveLength = firstCurve.Count,
            Curve = firstCurve,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    private const string Constant = "constant";

    private sealed record SeedRun(MineSeedResult Result, IReadOnlyList<double> Replicates, IReadOnlyList<MineCurvePoint> Curve, int EvalNegatives)
    {
        public int ZCopulaColumns { get; init; }
        public int YCopulaColumns { get; init; }
        public int HeldOutPreferred { get; init; }
    }

    private static SeedRun RunSeed(Tensor zAll, Tensor yAll, int trainSize, int validationSize, int seed, MineOptions options,
        IProgress<MineCurvePoint>? progress, IReadOnlyList<bool>? heldOutFirst, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var rng = new Random(seed);
        int n = (int)zAll.shape[0];
        var order = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(order);
        // The held-out part is the tail of the order, the validation part comes before it: a stable partition that puts
        // the flagged rows last fills the held-out part with them first.
        if (heldOutFirst != null) order = [.. order.Where(i => !heldOutFirst[i]), .. order.Where(i => heldOutFirst[i])];
        var heldOutRows = order[(trainSize + validationSize)..];
        int heldOutPreferred = heldOutFirst == null ? 0 : heldOutRows.Count(i => heldOutFirst[i]);
        var (zTrain, yTrain) = Rows(zAll, yAll, order[..trainSize]);
        var (zValidation, yValidation) = Rows(zAll, yAll, order[trainSize..(trainSize + validationSize)]);
        var (zHeldOut, yHeldOut) = Rows(zAll, yAll, heldOutRows);
        (zTrain, zValidation, zHeldOut, int zCopula) = TransformLike(zTrain, zValidation, zHeldOut, options);
        (yTrain, yValidation, yHeldOut, int yCopula) = TransformLike(yTrain, yValidation, yHeldOut, options);
        SeedRun Finish(SeedRun run) => run with { ZCopulaColumns = zCopula, YCopulaColumns = yCopula, HeldOutPreferred = heldOutPreferred };
        int components = options.ComponentsFor((int)zAll.shape[1], trainSize);
        if (components < zAll.shape[1]) (zTrain, zValidation, zHeldOut) = ProjectLike(zTrain, zValidation, zHeldOut, components);

        using var critic = StatisticsNetwork.Create(options, (int)zTrain.shape[1], (int)yAll.shape[1], rng);
        using var optimizer = optim.AdamW(critic.parameters(), lr: options.LearningRate, weight_decay: options.WeightDecay);
        var parameters = critic.parameters().ToList();

        int batch = Math.Min(options.BatchSize, trainSize);
        int trainNegatives = Math.Min(batch - 1, options.TrainNegatives ?? (options.Critic == CriticKind.Separable ? batch - 1 : 32));
        int evalNegativesWanted = options.Critic == CriticKind.Separable ? options.EvalNegatives : Math.Min(options.EvalNegatives, 64);
        var validationPartners = ShiftPartners(validationSize, Math.Min(validationSize - 1, evalNegativesWanted), rng);
        var allShifts = trainNegatives == batch - 1 ? ShiftPartners(batch, trainNegatives, rng) : null;

        var curve = new List<MineCurvePoint>();
        double best = double.NegativeInfinity;
        int bestStep = 0, stale = 0, step = 0;
        var bestState = parameters.Select(p => p.detach().clone()).ToList();
        double? logMovingAverage = null;
        double trainSum = 0;
        int trainCount = 0;
        var batchSampler = new BatchSampler(trainSize, batch, rng);

        while (step < options.MaxSteps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            step++;
            using (var stepScope = NewDisposeScope())
            {
                using var index = tensor(batchSampler.Next());
                var zb = zTrain.index_select(0, index);
                var yb = yTrain.index_select(0, index);
                var partners = allShifts ?? ShiftPartners(batch, trainNegatives, rng);
                var (joint, marginal) = critic.Score(zb, yb, partners);
                Tensor loss;
                double batchBound;
                if (options.Bound == MineBound.DonskerVaradhan)
                {
                    var logMeanExp = MineBounds.LogMeanExp(marginal);
                    double current = logMeanExp.item<float>();
                    batchBound = joint.mean().item<float>() - current;
                    if (options.MovingAverageRate > 0)
                    {
                        // MINE's bias correction: the gradient of log E_Q[e^T] is ∇E_Q[e^T] / E_Q[e^T]; the mini-batch
                        // denominator makes it biased, so the denominator becomes a moving average (kept in log space).
                        double a = options.MovingAverageRate;
                        logMovingAverage = logMovingAverage is { } previous
                            ? LogAddExp(Math.Log(1 - a) + previous, Math.Log(a) + current)
                            : current;
                        loss = -(joint.mean() - (logMeanExp - logMovingAverage.Value).exp());
                    }
                    else
                    {
                        loss = -(joint.mean() - logMeanExp);
                    }
                }
                else
                {
                    var value = MineBounds.Value(options.Bound, joint, marginal);
                    batchBound = value.item<float>();
                    loss = -value;
                }
                optimizer.zero_grad();
                loss.backward();
                if (options.GradientClip > 0) nn.utils.clip_grad_norm_(parameters, options.GradientClip);
                optimizer.step();
                if (double.IsFinite(batchBound))
                {
                    trainSum += batchBound;
                    trainCount++;
                }
            }

            if (step % options.EvalEvery == 0 || step == options.MaxSteps)
            {
                double validation = Evaluate(critic, zValidation, yValidation, validationPartners, options.Bound);
                var point = new MineCurvePoint(step, trainCount > 0 ? trainSum / trainCount : double.NaN, validation);
                curve.Add(point);
                progress?.Report(point);
                trainSum = 0;
                trainCount = 0;
                if (validation > best + 1e-4)
                {
                    best = validation;
                    bestStep = step;
                    stale = 0;
                    using (no_grad())
                        for (int i = 0; i < parameters.Count; i++) bestState[i].copy_(parameters[i]);
                }
                else if (++stale >= options.Patience)
                {
                    break;
                }
            }
        }

        using (no_grad())
            for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(bestState[i]);

        int heldOut = (int)zHeldOut.shape[0];
        int evalNegatives = Math.Min(heldOut - 1, evalNegativesWanted);
        if (best <= 0)
        {
            // The constant critic (a statistics network whose last layer is zero) is in the family and bounds MI at
            // exactly 0 for DV, NWJ (T = 1) and InfoNCE. When no trained T beats it on the validation part, model
            // selection picks it: report 0 (no detectable information) rather than a negative "lower bound" that only
            // measures overfitting on a small sample.
            var zeros = Enumerable.Repeat(0.0, options.BootstrapSamples).ToList();
            return Finish(new SeedRun(new MineSeedResult(seed, 0.0, best, bestStep, step, Constant), zeros, curve, evalNegatives));
        }
        var heldOutPartners = ShiftPartners(heldOut, evalNegatives, rng);
        var (heldJoint, heldMarginal) = ScoreInChunks(critic, zHeldOut, yHeldOut, heldOutPartners);
        using var ones = torch.ones(heldOut, dtype: ScalarType.Float64);
        double estimate = MineBounds.Weighted(options.Bound, heldJoint, heldMarginal, heldOutPartners, ones);
        var replicates = new List<double>(options.BootstrapSamples);
        var counts = new double[heldOut];
        for (int b = 0; b < options.BootstrapSamples; b++)
        {
            Array.Clear(counts);
            for (int i = 0; i < heldOut; i++) counts[rng.Next(heldOut)] += 1;
            using var c = tensor(counts);
            double r = MineBounds.Weighted(options.Bound, heldJoint, heldMarginal, heldOutPartners, c);
            if (double.IsFinite(r)) replicates.Add(r);
        }
        var result = new MineSeedResult(seed, estimate, best, bestStep, step);
        return Finish(new SeedRun(result, replicates, curve, evalNegatives));
    }

    private static double Evaluate(StatisticsNetwork critic, Tensor z, Tensor y, Tensor partners, MineBound bound)
    {
        using var scope = NewDisposeScope();
        var (joint, marginal) = ScoreInChunks(critic, z, y, partners);
        return MineBounds.Value(bound, joint, marginal).item<float>();
    }

    /// <summary>Scores of an evaluation set without gradients, a block of rows at a time (bounded memory).</summary>
    private static (Tensor Joint, Tensor Marginal) ScoreInChunks(StatisticsNetwork critic, Tensor z, Tensor y, Tensor partners)
    {
        using var _ = no_grad();
        long n = z.shape[0], k = partners.shape[1];
        long rows = Math.Max(1, EvalChunkElements / Math.Max(1, critic is SeparableCritic ? n : k * 64));
        var joints = new List<Tensor>();
        var marginals = new List<Tensor>();
        for (long start = 0; start < n; start += rows)
        {
            long length = Math.Min(rows, n - start);
            var zc = z.narrow(0, start, length);
            joints.Add(critic.Joint(zc, y.narrow(0, start, length)));
            marginals.Add(critic.Pairs(zc, y, partners.narrow(0, start, length)));
        }
        return (cat(joints, 0), cat(marginals, 0));
    }

    /// <summary>partner[i, k] = (i + shift_k) mod n with distinct shifts in 1..n-1: never the sample itself, and every y
    /// appears equally often among the negatives.</summary>
    internal static Tensor ShiftPartners(int n, int negatives, Random rng)
    {
        if (negatives < 1 || negatives > n - 1) throw new ArgumentOutOfRangeException(nameof(negatives), $"{negatives} negatives for {n} samples");
        int[] shifts;
        if (negatives == n - 1)
        {
            shifts = Enumerable.Range(1, n - 1).ToArray();
        }
        else
        {
            var pool = Enumerable.Range(1, n - 1).ToArray();
            for (int i = 0; i < negatives; i++)
            {
                int j = rng.Next(i, pool.Length);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
            shifts = pool[..negatives];
        }
        var data = new long[(long)n * negatives];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < negatives; k++)
                data[(long)i * negatives + k] = (i + shifts[k]) % n;
        return tensor(data, [n, negatives]);
    }

    private sealed class BatchSampler(int n, int batch, Random rng)
    {
        private readonly int[] order = Enumerable.Range(0, n).ToArray();
        private int position = n;

        public long[] Next()
        {
            if (position + batch > order.Length)
            {
                rng.Shuffle(order);
                position = 0;
            }
            var result = new long[batch];
            for (int i = 0; i < batch; i++) result[i] = order[position + i];
            position += batch;
            return result;
        }
    }

    private static (Tensor Z, Tensor Y) Rows(Tensor z, Tensor y, int[] rows)
    {
        using var index = tensor(rows.Select(r => (long)r).ToArray());
        return (z.index_select(0, index), y.index_select(0, index));
    }

    /// <summary>The training part's per-column map (<see cref="MineOptions.Transform"/>) applied to all three parts,
    /// and the number of columns that were rank-mapped.</summary>
    private static (Tensor, Tensor, Tensor, int) TransformLike(Tensor train, Tensor validation, Tensor heldOut, MineOptions options)
    {
        if (options.Transform == MarginalTransform.None) return (train, validation, heldOut, 0);
        if (options.Transform == MarginalTransform.Standardize)
        {
            var (a, b, c) = StandardizeLike(train, validation, heldOut);
            return (a, b, c, 0);
        }
        int columns = (int)train.shape[1];
        var parts = new[] { train, validation, heldOut };
        var data = parts.Select(p => p.data<float>().ToArray()).ToArray();
        int mapped = 0;
        var column = new float[train.shape[0]];
        for (int c = 0; c < columns; c++)
        {
            for (int i = 0; i < column.Length; i++) column[i] = data[0][(long)i * columns + c];
            var map = RankGaussianization.Fit(column);
            if (map.DistinctValues <= options.DiscreteColumnValues) continue;
            mapped++;
            foreach (var values in data)
                for (long i = c; i < values.Length; i += columns) values[i] = (float)map.Apply(values[i]);
        }
        // The rank-mapped columns are close to N(0, 1) already; standardising all columns also puts the discrete ones
        // (one-hot labels) on the same scale.
        var (t, v, h) = StandardizeLike(
            tensor(data[0], [train.shape[0], columns]), tensor(data[1], [validation.shape[0], columns]), tensor(data[2], [heldOut.shape[0], columns]));
        return (t, v, h, mapped);
    }

    private static (Tensor, Tensor, Tensor) StandardizeLike(Tensor train, Tensor validation, Tensor heldOut)
    {
        var mean = train.mean([0], keepdim: true);
        var std = train.std(0, keepdim: true, unbiased: false);
        std = where(std > 1e-6, std, ones_like(std));
        return ((train - mean) / std, (validation - mean) / std, (heldOut - mean) / std);
    }

    /// <summary>The training part's leading principal components, applied to all three parts, then standardised with
    /// the training part's statistics (so the critic's inputs keep unit scale whatever the spectrum).</summary>
    private static (Tensor, Tensor, Tensor) ProjectLike(Tensor train, Tensor validation, Tensor heldOut, int components)
    {
        var mean = train.mean([0], keepdim: true);
        var (_, _, vh) = linalg.svd(train - mean, fullMatrices: false);
        var basis = vh.narrow(0, 0, Math.Min(components, vh.shape[0])).t();
        return StandardizeLike((train - mean).matmul(basis), (validation - mean).matmul(basis), (heldOut - mean).matmul(basis));
    }

    private static Tensor ToTensor(IReadOnlyList<float[]> rows, int width)
    {
        var data = new float[(long)rows.Count * width];
        for (int i = 0; i < rows.Count; i++) Array.Copy(rows[i], 0, data, (long)i * width, width);
        return tensor(data, [rows.Count, width]);
    }

    private static int Width(IReadOnlyList<float[]> rows, string what)
    {
        if (rows.Count == 0 || rows[0] is null || rows[0].Length == 0) throw new ArgumentException($"{what} has no columns", what);
        int width = rows[0].Length;
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i] is null || rows[i].Length != width)
                throw new ArgumentException($"{what} row {i} has {rows[i]?.Length ?? 0} values, row 0 has {width}", what);
            foreach (float v in rows[i])
                if (!float.IsFinite(v)) throw new ArgumentException($"{what} row {i} holds a value that is not finite", what);
        }
        return width;
    }

    private static double LogAddExp(double a, double b)
    {
        double m = Math.Max(a, b);
        return m + Math.Log(Math.Exp(a - m) + Math.Exp(b - m));
    }

    /// <summary>Linear-interpolated sample quantile (type 7).</summary>
    internal static double Quantile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
