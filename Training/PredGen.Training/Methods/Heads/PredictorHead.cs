using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>Predictor's head: pooled hidden state Z_p → class logits or one (normalised) value. Parameter names
/// "score.weight"/"score.bias", as Hugging Face's sequence-classification heads.</summary>
public sealed class PredictorHead : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "score")] private readonly Linear score;

    public PredictorHead(int hiddenSize, int outputs) : base(nameof(PredictorHead))
    {
        score = nn.Linear(hiddenSize, outputs);
        RegisterComponents();
    }

    public override Tensor forward(Tensor pooled) => score.forward(pooled);

    /// <summary>Mean over non-padding positions, or the last position (prompts are left-padded, so it is a token).</summary>
    public static Tensor Pool(Tensor hidden, Tensor mask, PoolingKind pooling)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(mask);
        if (pooling == PoolingKind.Last) return hidden.select(1, -1);
        var m = mask.to(hidden.dtype).unsqueeze(-1);
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1);
    }
}

/// <summary>
/// PredGen's task adapter: the hidden states of the answer positions Z[n:n+m] (zero-padded to a fixed number of
/// positions) → class logits or one normalised value, through a two-layer MLP. Reads all positions jointly, so a
/// number's digits can be weighed by place.
/// </summary>
public sealed class TaskAdapter : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "dense")] private readonly Linear dense;
    [TorchSharp.Utils.ComponentName(Name = "out_proj")] private readonly Linear outProj;
    private readonly int positions;

    public TaskAdapter(int positions, int hiddenSize, int adapterHidden, int outputs) : base(nameof(TaskAdapter))
    {
        this.positions = positions;
        dense = nn.Linear(positions * hiddenSize, adapterHidden);
        outProj = nn.Linear(adapterHidden, outputs);
        RegisterComponents();
    }

    /// <summary><paramref name="answerStates"/>: [B, positions, H], zeros past each row's answer.</summary>
    public override Tensor forward(Tensor answerStates)
    {
        ArgumentNullException.ThrowIfNull(answerStates);
        if (answerStates.shape[1] != positions)
            throw new ArgumentException($"the adapter reads {positions} positions, got {answerStates.shape[1]}", nameof(answerStates));
        using var scope = NewDisposeScope();
        var flat = answerStates.reshape(answerStates.shape[0], -1);
        return outProj.forward(nn.functional.gelu(dense.forward(flat))).MoveToOuterDisposeScope();
    }
}
