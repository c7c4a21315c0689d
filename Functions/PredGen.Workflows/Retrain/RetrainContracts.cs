using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;

namespace PredGen.Workflows.Retrain;

/// <summary>The three ways to predict with an LLM (the methods issue); job ids and reports use these names.</summary>
public static class Methods
{
    public const string Predictor = "Predictor";
    public const string Generator = "Generator";
    public const string PredGen = "PredGen";

    public static IReadOnlyList<string> All { get; } = [Predictor, Generator, PredGen];

    /// <summary>The classical baseline's method name in summaries and reports: not an LM method (never in
    /// <see cref="All"/>, never accepted by <see cref="Canonical"/>), never promoted or served.</summary>
    public const string Baseline = "Baseline";

    public static bool IsBaseline(string method) => string.Equals(method, Baseline, StringComparison.OrdinalIgnoreCase);

    /// <summary>Accepts any casing ("predgen", "PREDICTOR"); returns the canonical name.</summary>
    public static string Canonical(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return All.FirstOrDefault(m => string.Equals(m, method.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"unknown method '{method}' (expected {string.Join(", ", All)})", nameof(method));
    }
}

/// <summary>Input of <see cref="RetrainOrchestration"/>.</summary>
public sealed record RetrainRequest
{
    public required string Task { get; init; }

    /// <summary>Artifact path of the uploaded file (BlobLayout.Dataset).</summary>
    public required string DatasetPath { get; init; }

    /// <summary>Path segment of every artifact of the run (BlobLayout.Run); derived from the dataset's content hash.</summary>
    public required string RunId { get; init; }

    /// <summary>null: inferred from the labels.</summary>
    public TaskKind? Kind { get; init; }

    public IReadOnlyList<string> Methods { get; init; } = Retrain.Methods.All;
    public int Seeds { get; init; } = 1;

    /// <summary>Base model folder (local path or artifact prefix) the workers fine-tune; null: the worker's default.</summary>
    public string? BaseModel { get; init; }

    public TrainingSettings Training { get; init; } = new();
    public bool RunMine { get; init; } = true;

    /// <summary>The learning-rate trials' grid; null: <see cref="TrialGrid.Default"/>. No candidates, or a fixed
    /// <see cref="TrainingSettings.LearningRate"/>, skips the trials.</summary>
    public TrialGrid? Trials { get; init; }

    /// <summary>Train the classical baseline alongside the methods (the report's floor).</summary>
    public bool RunBaseline { get; init; } = true;

    /// <summary>How long a job may run before the orchestration marks it failed.</summary>
    public int JobTimeoutSeconds { get; init; } = 6 * 3600;

    /// <summary>How long a dispatched job may wait for a worker before it is marked failed (its run timeout starts only then).</summary>
    public int JobQueueTimeoutSeconds { get; init; } = JobOrchestrationInput.DefaultQueueTimeoutSeconds;

    /// <summary>Status-poll fallback: if no completion event arrives within this, read the job's result marker.</summary>
    public int JobPollSeconds { get; init; } = 300;

    /// <summary>The instance id the blob trigger and the HTTP start use: one run per (task, content hash).</summary>
    public static string InstanceIdFor(string task, string runId) => "retrain-" + task + "-" + runId;

    /// <summary>Run id from the SHA-256 of the dataset's bytes (hex, first 20 characters: 80 bits).</summary>
    public static string RunIdFromContentHash(ReadOnlySpan<byte> sha256) => Convert.ToHexStringLower(sha256)[..20];
}

/// <summary>Custom status of a running Retrain orchestration: what the CLI and the status endpoint print.</summary>
public sealed record RetrainStatus(string Stage, int JobsDone, int JobsTotal, int JobsFailed);

public static class RetrainStages
{
    public const string Preparing = "preparing";
    public const string Trials = "trials";
    public const string Training = "training";
    public const string Analysing = "mine";
    public const string Reporting = "reporting";
    public const string Promoting = "promoting";
    public const string Completed = "completed";
    public const string Rejected = "rejected";
}

/// <summary>Output of <see cref="RetrainOrchestration"/>.</summary>
public sealed record RetrainResult
{
    public required string Task { get; init; }
    public required string RunId { get; init; }

    /// <summary>"completed" (every job succeeded) or "completed_with_failures" (the report marks the failed ones).</summary>
    public required string Outcome { get; init; }

    public required PreparedDataset Dataset { get; init; }
    public required IReadOnlyList<JobSummary> Jobs { get; init; }
    public required IReadOnlyList<MineSummary> Mine { get; init; }

    /// <summary>The classical baseline's job (null when the run had none); never a champion candidate.</summary>
    public JobSummary? Baseline { get; init; }

    /// <summary>The learning-rate trials, one per method and candidate (empty when skipped).</summary>
    public IReadOnlyList<TrialSummary> Trials { get; init; } = [];

    public required ChampionDecision Champion { get; init; }
    public required Reporting.ReportLinks Report { get; init; }
}

/// <summary>Input of <see cref="JobOrchestration"/>: one job and how long to wait for it.</summary>
/// <summary>TimeoutSeconds counts from the job's start (its worker's start marker); QueueTimeoutSeconds bounds the wait
/// before a worker takes it (the trainer runs at most maxExecutions jobs at once, the others wait their turn).</summary>
public sealed record JobOrchestrationInput(JobMessage Job, int TimeoutSeconds, int PollSeconds, int QueueTimeoutSeconds = JobOrchestrationInput.DefaultQueueTimeoutSeconds)
{
    public const int DefaultQueueTimeoutSeconds = 24 * 3600;
}

public sealed record PrepareDatasetInput(string Task, string RunId, string DatasetPath, TaskKind? Kind);

/// <summary>Identifies a job's artifacts (its result marker) for the status poll.</summary>
public sealed record JobReference(string Task, string RunId, string JobId)
{
    public string ResultPath => BlobLayout.JobResult(Task, RunId, JobId);

    public string StartedPath => BlobLayout.JobStarted(Task, RunId, JobId);
}
