using System.Text.Json.Serialization;

namespace PredGen.Training.Methods;

/// <summary>One input to predict: a text, or a sentence pair.</summary>
public sealed record TextInput(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("text_b")] string? TextB = null);

/// <summary>
/// One prediction. Classification: <see cref="Label"/> and the class <see cref="Probabilities"/> (summing to 1).
/// Regression: <see cref="Value"/>. Generator and PredGen also return the answer they wrote (<see cref="GeneratedText"/>);
/// for PredGen the served label or value is the task adapter's, and the text is kept alongside.
/// </summary>
public sealed record Prediction(
    [property: JsonPropertyName("label")] string? Label,
    [property: JsonPropertyName("value")] double? Value,
    [property: JsonPropertyName("probabilities")] IReadOnlyDictionary<string, double>? Probabilities,
    [property: JsonPropertyName("generated_text")] string? GeneratedText)
{
    /// <summary>The probability of <see cref="Label"/>, when probabilities were computed.</summary>
    [JsonIgnore]
    public double? Probability => Label != null && Probabilities != null && Probabilities.TryGetValue(Label, out double p) ? p : null;
}

/// <summary>
/// Representations for mutual-information estimation (MINE). Predictor: <see cref="Pooled"/> is Z_p (the pooled prompt).
/// Generator and PredGen: <see cref="Pooled"/> is the mean of the answer positions' hidden states, and
/// <see cref="TokenLevel"/> their concatenation Z[n:n+m], zero-padded to the longest answer (fixed width per model).
/// </summary>
public sealed record RepresentationSet(float[][] Pooled, float[][]? TokenLevel);

/// <summary>Progress of a training run, reported after every optimizer step and validation.</summary>
public sealed record TrainProgress(
    int Step,
    int TotalSteps,
    double Loss,
    double LearningRate,
    double SamplingProbability,
    double ExamplesPerSecond,
    Metrics? Validation);

/// <summary>What <see cref="Trainer.Train"/> returns (also written as outDir/metrics.json).</summary>
public sealed record TrainResult
{
    [JsonPropertyName("method")]
    public MethodKind Method { get; init; }

    [JsonPropertyName("test")]
    public required Metrics Test { get; init; }

    /// <summary>Where the test rows came from: "test.jsonl", or <see cref="Trainer.NoTestSplit"/> (then
    /// <see cref="Test"/> is empty: no metric stands in for it).</summary>
    [JsonPropertyName("test_split")]
    public string? TestSplit { get; init; }

    [JsonPropertyName("validation")]
    public Metrics? Validation { get; init; }

    /// <summary>Where the validation rows came from: "validation.jsonl", or how they were carved from train.</summary>
    [JsonPropertyName("validation_split")]
    public string? ValidationSplit { get; init; }

    /// <summary>The optimizer steps taken (including those before a resume).</summary>
    [JsonPropertyName("steps")]
    public int Steps { get; init; }

    /// <summary>The step whose weights were kept (best validation score).</summary>
    [JsonPropertyName("best_step")]
    public int BestStep { get; init; }

    [JsonPropertyName("stopped_early")]
    public bool StoppedEarly { get; init; }

    /// <summary>True when the run stopped at <see cref="TrainOptions.StopAfterSteps"/> before finishing; Test is then empty.</summary>
    [JsonPropertyName("interrupted")]
    public bool Interrupted { get; init; }

    [JsonPropertyName("resumed_from_step")]
    public int? ResumedFromStep { get; init; }

    [JsonPropertyName("train_seconds")]
    public double TrainSeconds { get; init; }

    [JsonPropertyName("settings")]
    public required TrainOptions Settings { get; init; }

    /// <summary>The learning-rate search's trials when the run chose its settings (null when the caller fixed them).</summary>
    [JsonPropertyName("trials")]
    public IReadOnlyList<Tuning.TrialResult>? Trials { get; init; }

    /// <summary>outDir/model: the directory <see cref="TrainedModel.Load"/> reads.</summary>
    [JsonPropertyName("model_directory")]
    public required string ModelDirectory { get; init; }
}
