using System.Text.Json;
using System.Text.Json.Serialization;
using PredGen.Shared.Data;

namespace PredGen.Shared.Jobs;

/// <summary>What a worker does with a job: train one method with one seed, estimate mutual information on a trained
/// model's representations (MINE), evaluate an existing model (the current champion) on a run's test split, or train
/// the classical baseline (n-gram TF-IDF + linear model: the floor every LM method must beat; never promoted).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobKind>))]
public enum JobKind
{
    Train,
    Mine,
    Evaluate,
    Baseline,
}

/// <summary>Training knobs that travel with a job; null means the trainer's default.</summary>
public sealed record TrainingSettings
{
    public int? Steps { get; init; }
    public int? BatchSize { get; init; }
    public double? LearningRate { get; init; }
    public int? EvalEvery { get; init; }
    public int? CheckpointEvery { get; init; }
    public bool? UseLora { get; init; }
    public int? MaxTestRows { get; init; }

    /// <summary>Prompt tokens kept per example (texts are truncated to fit).</summary>
    public int? MaxPromptTokens { get; init; }

    /// <summary>MINE: steps of the statistics network and bootstrap seeds (null: the estimator's defaults).</summary>
    public int? MineSteps { get; init; }
}

/// <summary>
/// One unit of GPU/CPU work, sent by the Retrain orchestration through <see cref="IJobDispatcher"/> and taken by the
/// `predgen worker` host. Its artifacts live under BlobLayout.Job(Task, RunId, JobId) (MINE: BlobLayout.Mine).
/// <see cref="NotifyInstanceId"/> is the orchestration instance that waits for <see cref="JobEvents.Completed"/>.
/// </summary>
public sealed record JobMessage
{
    public required string JobId { get; init; }
    public required JobKind Kind { get; init; }
    public required string Task { get; init; }
    public required string RunId { get; init; }
    public required string NotifyInstanceId { get; init; }

    /// <summary>Predictor | Generator | PredGen (Train); the trained model's method (Mine, Evaluate).</summary>
    public required string Method { get; init; }
    public int Seed { get; init; }

    /// <summary>Classification or regression (what PrepareDataset found).</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<TaskKind>))]
    public TaskKind TaskKind { get; init; }

    /// <summary>Base model: a local folder (the CLI, tests, a model baked into the image) or an artifact-store prefix.</summary>
    public string? BaseModel { get; init; }

    /// <summary>Mine / Evaluate: artifact-store path of the model folder to load (BlobLayout.JobModel of a train job, or
    /// the champion's model_path).</summary>
    public string? ModelPath { get; init; }

    public TrainingSettings Settings { get; init; } = new();

    /// <summary>Train: the label set or number format PrepareDataset decided for the run (what the report describes);
    /// the trainer answers with it. Null: the trainer decides from its training rows (<see cref="Data.AnswerFormat.Of"/>).</summary>
    public AnswerFormat? AnswerFormat { get; init; }

    /// <summary>Mine: the train job whose model it analyses; its estimates are stored under BlobLayout.Mine(Task, RunId,
    /// SourceJobId) and reported against that job.</summary>
    public string? SourceJobId { get; init; }

    /// <summary>The method as the trainer's enum (<typeparamref name="TMethod"/>: the engine's MethodKind, which this
    /// contract cannot reference); an unknown name fails with a message that names the field and the choices.</summary>
    public TMethod MethodAs<TMethod>() where TMethod : struct, Enum
    {
        foreach (var value in Enum.GetValues<TMethod>())
            if (string.Equals(value.ToString(), Method?.Trim(), StringComparison.OrdinalIgnoreCase)) return value;
        throw new FormatException($"job {JobId}: field 'method' is '{Method}', expected one of {string.Join(", ", Enum.GetNames<TMethod>())}");
    }

    public string ToJson() => JsonSerializer.Serialize(this, JobJson.Options);

    public static JobMessage Parse(string json) =>
        JsonSerializer.Deserialize<JobMessage>(json, JobJson.Options) ?? throw new FormatException("empty job message");
}

[JsonConverter(typeof(JsonStringEnumConverter<JobOutcome>))]
public enum JobOutcome
{
    Succeeded,
    Failed,
}

/// <summary>
/// A job's result: written once to BlobLayout.JobResult (the "done" marker that makes a redelivered job a no-op and
/// that the orchestration's status poll reads) and sent on the results queue, whose trigger raises
/// <see cref="JobEvents.Completed"/> on <see cref="NotifyInstanceId"/>.
/// </summary>
public sealed record JobCompletion
{
    public required string JobId { get; init; }
    public required JobKind Kind { get; init; }
    public required string Task { get; init; }
    public required string RunId { get; init; }
    public required string NotifyInstanceId { get; init; }
    public required JobOutcome Outcome { get; init; }
    public string? Error { get; init; }

    /// <summary>Train / Evaluate / Baseline: test-split metrics (accuracy, macro_f1 | mse, mae, pearson, spearman, r2).
    /// Train / Baseline also: <see cref="ValidationScoreMetric"/>, the validation score of the kept model (higher is
    /// better: macro-F1, or −MSE), which the learning-rate trials compare.
    /// Mine: <see cref="MineMetrics"/> (per representation: token_estimate_nats, pooled_ci_low, ...).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Metric name of the validation score in <see cref="Metrics"/> (not a test metric).</summary>
    public const string ValidationScoreMetric = "validation_score";

    /// <summary>Mine: the estimator's bound (dv, nwj, infonce); free-form notes otherwise.</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();

    public double Seconds { get; init; }

    /// <summary>Train: steps already done when this delivery started (0 = fresh; > 0 = resumed from a checkpoint).</summary>
    public int ResumedFromStep { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, JobJson.Options);

    public static JobCompletion Parse(string json) =>
        JsonSerializer.Deserialize<JobCompletion>(json, JobJson.Options) ?? throw new FormatException("empty job completion");
}

public static class JobEvents
{
    /// <summary>The external event a job orchestration waits for; its payload is a <see cref="JobCompletion"/>.</summary>
    public const string Completed = "JobCompleted";
}

/// <summary>snake_case JSON for messages and markers (the worker and the Functions app may be different builds).</summary>
public static class JobJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
