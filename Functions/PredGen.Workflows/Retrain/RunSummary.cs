using PredGen.Shared.Data;

namespace PredGen.Workflows.Retrain;

/// <summary>One training job as the report shows it. Under <see cref="JobPath"/> (BlobLayout.Job): metrics.jsonl (the
/// trainer's per-step curve), metrics.json, model/, test_predictions.jsonl (BlobLayout.JobTestPredictions).</summary>
public sealed record JobSummary(
    string JobId,
    string Method,
    int Seed,
    string Status,
    string? Error,
    IReadOnlyDictionary<string, double> TestMetrics,
    double TrainSeconds,
    string JobPath,
    int ResumedFromStep = 0)
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    public bool IsSucceeded => Status == Succeeded;
}

/// <summary>One learning-rate trial as the report shows it: the candidate a method tried, its validation score
/// (higher is better: macro-F1, or −MSE; null when the trial failed) and whether its seed jobs train with it.</summary>
public sealed record TrialSummary(
    string JobId,
    string Method,
    double LearningRate,
    bool UseLora,
    int Steps,
    string Status,
    string? Error,
    double? ValidationScore,
    bool Chosen)
{
    public string FineTuning => UseLora ? "lora" : "full";
}

/// <summary>A MINE estimate (nats) of I(Y; representation) with its confidence interval; BlobLayout.Mine has the details.
/// Estimable is false when no trained critic beat the constant one on Rows rows: the estimate is then the trivial 0 and
/// the interval means nothing. HeldOutRows: the rows the estimate was computed on. (Rows 0: an older worker that did not say.)</summary>
public sealed record MineSummary(string JobId, string Method, string Representation, double EstimateNats, double CiLow, double CiHigh, string Bound,
    bool Estimable = true, int Rows = 0, int HeldOutRows = 0);

public sealed record StageTiming(string Stage, double Seconds);

/// <summary>Which model should serve and why: the candidate (best on this run's test split) against the current
/// champion evaluated on the same split.</summary>
public sealed record ChampionDecision
{
    public required string Metric { get; init; }
    public required bool HigherIsBetter { get; init; }
    public string? CandidateJobId { get; init; }
    public string? CandidateMethod { get; init; }
    public double? CandidateValue { get; init; }
    public string? CurrentRunId { get; init; }
    public string? CurrentJobId { get; init; }

    /// <summary>The current champion's score on this run's test split (null: no champion, or it could not be evaluated).</summary>
    public double? CurrentValue { get; init; }

    public bool Promote { get; init; }
    public required string Reason { get; init; }
}

/// <summary>Everything the report shows about a run (BlobLayout.RunSummary); filled by the Retrain orchestration.</summary>
public sealed record RunSummary
{
    public required string Task { get; init; }
    public required string RunId { get; init; }
    public required TaskKind Kind { get; init; }
    public required string DatasetPath { get; init; }
    public required PreparedDataset Dataset { get; init; }
    public required IReadOnlyList<JobSummary> Jobs { get; init; }

    /// <summary>The classical baseline (BlobLayout.Job(..., "baseline")); shown beside the methods, never promoted.</summary>
    public JobSummary? Baseline { get; init; }

    public IReadOnlyList<TrialSummary> Trials { get; init; } = [];
    public IReadOnlyList<MineSummary> Mine { get; init; } = [];
    public ChampionDecision? Champion { get; init; }
    public IReadOnlyList<StageTiming> Timings { get; init; } = [];
    public required DateTimeOffset StartedAt { get; init; }
    public string? BaseModel { get; init; }
    public Shared.Jobs.TrainingSettings? Training { get; init; }
}
