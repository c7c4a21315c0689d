using System.Text.Json.Serialization;

namespace PredGen.Training.Methods;

/// <summary>The three ways to predict with a causal language model (arXiv 2502.17817): they share the backbone and differ in
/// head, loss and decoding.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MethodKind>))]
public enum MethodKind
{
    /// <summary>Pooled hidden state plus a linear head; cross-entropy or MSE.</summary>
    Predictor,

    /// <summary>The answer written as tokens after a prompt; cross-entropy on the answer; greedy decoding.</summary>
    Generator,

    /// <summary>Generator plus scheduled sampling, a task adapter over the answer positions and the Writer-Director
    /// Alignment Loss.</summary>
    PredGen,
}

/// <summary>How the Predictor pools the prompt's hidden states into Z_p.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PoolingKind>))]
public enum PoolingKind
{
    /// <summary>Mean over the non-padding positions.</summary>
    Mean,

    /// <summary>The last non-padding token (Hugging Face's *ForSequenceClassification convention).</summary>
    Last,
}

/// <summary>The Predictor's head over the pooled state.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PredictorHeadKind>))]
public enum PredictorHeadKind
{
    /// <summary>One linear layer (Hugging Face's "score").</summary>
    Linear,

    /// <summary>A two-layer GELU MLP as wide as PredGen's task adapter (its capacity, to compare like with like).</summary>
    Mlp,
}

/// <summary>How PredGen combines the generation loss L_W and the task loss L_D (see <see cref="WriterDirectorLoss"/>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LossVariant>))]
public enum LossVariant
{
    /// <summary>The paper's equation: max(L_W², L_D²)·exp(−|log L_W − log L_D|).</summary>
    Wdal,

    /// <summary>The reference code's form: log(1+L_W) + log(1+L_D) + (max(L_W,L_D)+1)²·exp(−|log(1+L_W) − log(1+L_D)|).</summary>
    WdalStabilized,

    /// <summary>L_W + L_D, the ablation.</summary>
    Sum,
}

/// <summary>How the scheduled-sampling probability p grows from p_min to p_max.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SamplingSchedule>))]
public enum SamplingSchedule
{
    /// <summary>Straight line over the ramp (the reference code's choice).</summary>
    Linear,

    /// <summary>Bengio et al. 2015: p_min + (p_max − p_min)·(1 − k/(k + exp(s/k))) with s in steps of the ramp.</summary>
    InverseSigmoid,

    /// <summary>Bengio et al. 2015: p_min + (p_max − p_min)·(1 − ε^s) with ε chosen so that the ramp ends at 99%.</summary>
    Exponential,
}

/// <summary>Whether scheduled sampling decides per answer token (the paper's formula) or once per batch (the reference code).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SamplingMixing>))]
public enum SamplingMixing
{
    PerToken,
    PerBatch,
}

/// <summary>LoRA adapters on the attention projections, or every weight of the backbone.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FineTuning>))]
public enum FineTuning
{
    Lora,
    Full,
}
