using PredGen.Shared.Data;
using PredGen.Workflows.Reporting;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests.Reporting;

/// <summary>Deterministic, realistic-looking report inputs (no training): three methods x seeds, one failed job.</summary>
internal static class SampleReports
{
    private static readonly string[] Methods = ["predictor", "generator", "predgen"];

    public static RunReport Classification()
    {
        var labels = new[] { "negative", "neutral", "positive" };
        var jobs = new List<JobReport>();
        double[] skill = [0.78, 0.83, 0.88];
        for (int mi = 0; mi < Methods.Length; mi++)
            for (int seed = 1; seed <= 3; seed++)
            {
                var rng = new Random(mi * 100 + seed);
                string id = $"{Methods[mi]}-s{seed}";
                if (Methods[mi] == "generator" && seed == 3)
                {
                    jobs.Add(new JobReport
                    {
                        JobId = id, Method = Methods[mi], Seed = seed, Status = JobStatus.Failed,
                        Error = "worker exited with code 137 (out of memory) at step 40 after 3 retries; last checkpoint step 40",
                        Curve = Curve(rng, 40, mi),
                    });
                    continue;
                }
                var predictions = new List<PredictionPoint>();
                for (int i = 0; i < 240; i++)
                {
                    string truth = labels[i % 3];
                    string predicted = rng.NextDouble() < skill[mi] + 0.02 * seed ? truth : labels[(i + 1 + rng.Next(2)) % 3];
                    predictions.Add(PredictionPoint.Class(truth, predicted));
                }
                double accuracy = predictions.Count(p => p.TrueLabel == p.PredictedLabel) / 240.0;
                jobs.Add(new JobReport
                {
                    JobId = id, Method = Methods[mi], Seed = seed, Status = JobStatus.Ok,
                    TestMetrics = new Dictionary<string, double> { ["accuracy"] = accuracy, ["macro_f1"] = accuracy - 0.01 - 0.005 * rng.NextDouble() },
                    Curve = Curve(rng, 120, mi),
                    Predictions = predictions,
                    MutualInformation =
                    [
                        new MiEstimate("pooled", 0.52 + 0.1 * mi + 0.02 * rng.NextDouble(), 0.45 + 0.1 * mi, 0.60 + 0.1 * mi),
                        .. mi > 0 ? new[] { new MiEstimate("token", 0.70 + 0.12 * mi + 0.02 * rng.NextDouble(), 0.62 + 0.12 * mi, 0.79 + 0.12 * mi) } : [],
                    ],
                    TopTokens = mi == 0 ? [] :
                    [
                        new TokenAssociation("positive", "funny", 0.47), new TokenAssociation("positive", "pretty", 0.34), new TokenAssociation("positive", "great", 0.31),
                        new TokenAssociation("negative", "boring", 0.52), new TokenAssociation("negative", "waste", 0.41),
                        new TokenAssociation("neutral", "okay", 0.22), new TokenAssociation("neutral", "average", 0.19),
                    ],
                    TrainSeconds = 95 + 20 * mi + rng.Next(10),
                    MineSeconds = 12,
                });
            }
        return new RunReport
        {
            Task = "sentiment",
            RunId = "run-20261125-0001",
            Kind = TaskKind.Classification,
            DatasetPath = "datasets/sentiment/reviews.csv",
            StartedAt = new DateTimeOffset(2026, 11, 25, 9, 30, 0, TimeSpan.Zero),
            Jobs = jobs,
            Data = new DatasetStats
            {
                Source = "datasets/sentiment/reviews.csv", Format = DatasetFormat.Csv, Kind = TaskKind.Classification, KindSource = "inferred",
                InputRows = 2650, PreparedRows = 2400, RejectedRows = 250,
                RejectedByReason = new Dictionary<string, int> { ["conflicting_labels"] = 14, ["duplicate"] = 96, ["empty_text"] = 31, ["malformed_csv"] = 109 },
                Splits = new Dictionary<string, SplitStats>
                {
                    ["train"] = new(1920, new Dictionary<string, int> { ["negative"] = 640, ["neutral"] = 630, ["positive"] = 650 }, null),
                    ["validation"] = new(240, new Dictionary<string, int> { ["negative"] = 80, ["neutral"] = 82, ["positive"] = 78 }, null),
                    ["test"] = new(240, new Dictionary<string, int> { ["negative"] = 80, ["neutral"] = 80, ["positive"] = 80 }, null),
                },
                Labels = labels, TextLength = new TextLengthStats(4, 88, 212, 260, 410, 1290, 104.3), Fractions = SplitFractions.Default,
            },
            Champion = new ChampionDecision
            {
                Metric = "accuracy", HigherIsBetter = true, CandidateJobId = "predgen-s3", CandidateMethod = "predgen", CandidateValue = jobs.First(j => j.JobId == "predgen-s3").TestMetrics["accuracy"],
                CurrentRunId = "run-20261101-0007", CurrentJobId = "generator-s1", CurrentValue = 0.812, Promote = true,
                Reason = "predgen-s3 scores higher accuracy than the current champion (generator-s1 of run-20261101-0007) on this run's test split.",
            },
            Settings = [new("base model", "tiny-llama (embedded)"), new("steps", "120"), new("batch size", "16"), new("learning rate", "0.0003"), new("LoRA", "rank 8, alpha 16")],
            Timings = [new StageTiming("prepare", 1.4), new StageTiming("train", 342.0), new StageTiming("mine", 61.5), new StageTiming("report", 2.2)],
        };
    }

    public static RunReport Regression()
    {
        var jobs = new List<JobReport>();
        for (int mi = 0; mi < Methods.Length; mi++)
            for (int seed = 1; seed <= 2; seed++)
            {
                var rng = new Random(1000 + mi * 10 + seed);
                double noise = 0.9 - 0.25 * mi;
                var predictions = Enumerable.Range(0, 150).Select(i =>
                {
                    double truth = 5 * rng.NextDouble();
                    return PredictionPoint.Number(truth, Math.Clamp(truth + noise * (rng.NextDouble() - 0.5) * 2, 0, 5));
                }).ToList();
                double mse = predictions.Average(p => Math.Pow(p.TrueValue!.Value - p.PredictedValue!.Value, 2));
                jobs.Add(new JobReport
                {
                    JobId = $"{Methods[mi]}-s{seed}", Method = Methods[mi], Seed = seed, Status = JobStatus.Ok,
                    TestMetrics = new Dictionary<string, double> { ["mse"] = mse, ["mae"] = Math.Sqrt(mse) * 0.8, ["pearson"] = 0.95 - 0.3 * mse, ["spearman"] = 0.94 - 0.3 * mse },
                    Curve = Curve(rng, 100, mi),
                    Predictions = predictions,
                    MutualInformation = [new MiEstimate("pooled", 1.1 + 0.2 * mi, 0.95 + 0.2 * mi, 1.25 + 0.2 * mi), new MiEstimate("token", 1.3 + 0.25 * mi, 1.1 + 0.25 * mi, 1.5 + 0.25 * mi)],
                    TrainSeconds = 80 + 10 * mi,
                });
            }
        return new RunReport
        {
            Task = "stsb",
            RunId = "run-20261125-0002",
            Kind = TaskKind.Regression,
            DatasetPath = "datasets/stsb/pairs.jsonl",
            StartedAt = new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero),
            Jobs = jobs,
            Data = new DatasetStats
            {
                Source = "datasets/stsb/pairs.jsonl", Format = DatasetFormat.Jsonl, Kind = TaskKind.Regression, KindSource = "inferred",
                InputRows = 1520, PreparedRows = 1500, RejectedRows = 20,
                RejectedByReason = new Dictionary<string, int> { ["malformed_json"] = 12, ["non_finite_label"] = 8 },
                Splits = new Dictionary<string, SplitStats>
                {
                    ["train"] = new(1200, null, new ValueStats(0, 5, 2.61, 1.43)),
                    ["validation"] = new(150, null, new ValueStats(0, 5, 2.55, 1.47)),
                    ["test"] = new(150, null, new ValueStats(0.2, 5, 2.70, 1.40)),
                },
                NumberFormat = new NumberFormat(false, 1, 2), TextLength = new TextLengthStats(12, 58, 120, 151, 230, 402, 64.0), RowsWithTextB = 1500,
                Fractions = SplitFractions.Default,
            },
            Champion = new ChampionDecision
            {
                Metric = "mse", HigherIsBetter = false, CandidateJobId = "predgen-s1", CandidateMethod = "predgen", CandidateValue = jobs.First(j => j.JobId == "predgen-s1").TestMetrics["mse"],
                CurrentValue = 0.041, CurrentRunId = "run-20261120-0003", CurrentJobId = "predgen-s2", Promote = false,
                Reason = "The current champion (predgen-s2 of run-20261120-0003) has the lower MSE on this run's test split; it stays.",
            },
            Settings = [new("base model", "tiny-llama (embedded)"), new("steps", "100")],
            Timings = [new StageTiming("prepare", 0.9), new StageTiming("train", 250.0), new StageTiming("mine", 40.0), new StageTiming("report", 1.9)],
        };
    }

    /// <summary>A decaying loss with noise every 5 steps, validation every 20, PredGen's loss parts.</summary>
    private static List<CurvePoint> Curve(Random rng, int steps, int method)
    {
        var points = new List<CurvePoint>();
        for (int step = 5; step <= steps; step += 5)
        {
            double loss = 0.35 + (1.9 - 0.2 * method) * Math.Exp(-step / (35.0 + 10 * method)) + 0.05 * rng.NextDouble();
            points.Add(new CurvePoint(step, "loss", loss));
            points.Add(new CurvePoint(step, "lr", 3e-4));
            if (method == 2)
            {
                points.Add(new CurvePoint(step, "l_w", loss * 0.7));
                points.Add(new CurvePoint(step, "l_d", loss * 0.45));
            }
            if (step % 20 == 0) points.Add(new CurvePoint(step, "validation_loss", loss + 0.08 + 0.03 * rng.NextDouble()));
        }
        return points;
    }
}
