using System.Text.Json.Serialization;
using PredGen.Shared.Data;
using PredGen.Training.Runtime;

namespace PredGen.Training.Methods;

/// <summary>
/// Everything that decides a fine-tuning run. A record so a job message can carry it as JSON (snake_case with
/// <c>CliJson.Options</c> or the host's options) and so metrics.json can echo the settings used.
/// </summary>
public sealed record TrainOptions
{
    public MethodKind Method { get; init; } = MethodKind.PredGen;

    public TaskKind TaskKind { get; init; } = TaskKind.Classification;

    public int Seed { get; init; } = 42;

    // ---- optimisation -------------------------------------------------------------------------------------------

    /// <summary>Optimizer steps (each one <see cref="GradientAccumulation"/> micro-batches). 0: derive from <see cref="Epochs"/>.</summary>
    public int MaxSteps { get; init; }

    /// <summary>Used when <see cref="MaxSteps"/> is 0.</summary>
    public double Epochs { get; init; } = Shared.Jobs.TrainingDefaults.Epochs;

    public int BatchSize { get; init; } = Shared.Jobs.TrainingDefaults.BatchSize;

    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Peak learning rate. <c>predgen train</c> without --lr and the Retrain pipeline choose it (and
    /// <see cref="FineTuning"/>) by short trials on the validation split (<see cref="Tuning.LearningRateSearch"/>);
    /// this default is the search's first candidate for small bases, used when a caller fixes nothing.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Learning rate of the new head (Predictor head, PredGen task adapter); 0 = same as <see cref="LearningRate"/>.</summary>
    public double HeadLearningRate { get; init; }

    public double WeightDecay { get; init; } = 0.01;

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Fraction of the steps spent warming up linearly; then cosine decay to <see cref="MinLearningRateRatio"/>.</summary>
    public double WarmupRatio { get; init; } = 0.06;

    public double MinLearningRateRatio { get; init; }

    /// <summary>Global L2 norm the gradient is clipped to; 0 disables clipping.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Full fine-tuning by default: the project's own bases are a few million parameters, where LoRA's
    /// low-rank updates learn too little in a few hundred steps. Large bases get LoRA from the search.</summary>
    public FineTuning FineTuning { get; init; } = FineTuning.Full;

    public int LoraRank { get; init; } = 8;

    public double LoraAlpha { get; init; } = 16;

    public double LoraDropout { get; init; } = 0.05;

    /// <summary>Prompt tokens kept (the text is truncated to fit); the answer always fits.</summary>
    public int MaxPromptTokens { get; init; } = 256;

    // ---- evaluation, early stopping, checkpoints ------------------------------------------------------------------

    /// <summary>Validate every N optimizer steps; 0: once per epoch.</summary>
    public int EvalEvery { get; init; }

    /// <summary>Stop after this many validations without improvement; 0 disables early stopping.</summary>
    public int EarlyStoppingPatience { get; init; } = 3;

    /// <summary>Validation rows used for model selection (the first N; 0 = all).</summary>
    public int MaxValidationRows { get; init; } = 512;

    /// <summary>Write a resumable checkpoint to outDir/checkpoints every N optimizer steps; 0: only at validations.</summary>
    public int CheckpointEvery { get; init; } = 50;

    /// <summary>Predict and score the test split at the end (a search trial does not).</summary>
    [JsonIgnore]
    public bool EvaluateTest { get; init; } = true;

    /// <summary>Write model/ at the end (a search trial does not).</summary>
    [JsonIgnore]
    public bool SaveModel { get; init; } = true;

    /// <summary>Stop (as if interrupted) after this many optimizer steps; for resume tests and time-sliced workers.</summary>
    [JsonIgnore]
    public int? StopAfterSteps { get; init; }

    // ---- Predictor --------------------------------------------------------------------------------------------------

    /// <summary>Mean over the prompt, or the last non-padding token (Hugging Face's sequence-classification convention).</summary>
    public PoolingKind Pooling { get; init; } = PoolingKind.Mean;

    /// <summary>Linear head, or an MLP with the task adapter's capacity (width <see cref="AdapterHidden"/>), so a
    /// Predictor-vs-PredGen comparison can rule the head's size out.</summary>
    public PredictorHeadKind PredictorHead { get; init; } = PredictorHeadKind.Linear;

    // ---- Generator / PredGen ------------------------------------------------------------------------------------------

    /// <summary>Null: <see cref="PromptTemplate.Default"/>.</summary>
    public PromptTemplate? Prompt { get; init; }

    /// <summary>Also train on the prompt tokens (the reference code does); answer-only by default.</summary>
    public bool TrainOnPrompt { get; init; }

    /// <summary>Regression: weight earlier digits more, linearly decreasing (as the reference does).</summary>
    public bool DigitWeights { get; init; } = true;

    /// <summary>Regression: decimals kept in the number format (derived from the labels, at most this many), when the
    /// trainer decides the format itself (no <see cref="AnswerFormat"/>); the preparer's default.</summary>
    public int MaxDecimals { get; init; } = NumberFormat.DefaultMaxDecimals;

    /// <summary>The label set or number format decided by the dataset preparer (the pipeline's job message carries it),
    /// so the model writes what the report describes. Null: decided from train.jsonl by the same function
    /// (<see cref="Shared.Data.AnswerFormat.Of"/>) with <see cref="MaxDecimals"/>.</summary>
    public AnswerFormat? AnswerFormat { get; init; }

    // ---- PredGen ------------------------------------------------------------------------------------------------------

    public LossVariant Loss { get; init; } = LossVariant.WdalStabilized;

    public SamplingSchedule Schedule { get; init; } = SamplingSchedule.Linear;

    public SamplingMixing Mixing { get; init; } = SamplingMixing.PerToken;

    public double SamplingMin { get; init; }

    /// <summary>Where p ends: 1.0 as the reference code's ramp, so by the end L_W trains on the answers inference writes.</summary>
    public double SamplingMax { get; init; } = 1.0;

    /// <summary>Steps over which p ramps from min to max; 0: the whole run.</summary>
    public int SamplingRampSteps { get; init; }

    /// <summary>The task adapter reads the prompt's last state (which wrote the answer's first token) before the answer's
    /// states (<see cref="ModelCard.AdapterReadsPromptState"/>); false: the answer's states only.</summary>
    public bool AdapterReadsPromptState { get; init; } = true;

    /// <summary>Hidden width of the task adapter's MLP (and of the Predictor's MLP head); 0: the backbone's hidden size.</summary>
    public int AdapterHidden { get; init; }

    // ---- runtime --------------------------------------------------------------------------------------------------------

    public TorchOptions Torch { get; init; } = new() { Device = "cpu" };

    /// <summary>Batch size for validation, test and serving.</summary>
    public int EvalBatchSize { get; init; } = 32;

    public void Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(MaxSteps >= 0, "max_steps must be >= 0");
        Require(MaxSteps > 0 || Epochs > 0, "either max_steps or epochs must be positive");
        Require(BatchSize >= 1 && GradientAccumulation >= 1 && EvalBatchSize >= 1, "batch sizes and gradient accumulation must be >= 1");
        Require(LearningRate > 0 && HeadLearningRate >= 0, "learning rates must be positive");
        Require(WarmupRatio is >= 0 and < 1, "warmup_ratio must be in [0, 1)");
        Require(MinLearningRateRatio is >= 0 and <= 1, "min_learning_rate_ratio must be in [0, 1]");
        Require(SamplingMin is >= 0 and <= 1 && SamplingMax is >= 0 and <= 1 && SamplingMin <= SamplingMax,
            "sampling probabilities need 0 <= p_min <= p_max <= 1");
        Require(LoraRank >= 1, "lora_rank must be >= 1");
        Require(MaxPromptTokens >= 8, "max_prompt_tokens must be >= 8");
        Require(MaxDecimals is >= 0 and <= 6, "max_decimals must be in [0, 6]");
    }
}
