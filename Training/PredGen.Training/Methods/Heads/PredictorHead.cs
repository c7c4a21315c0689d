using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// Predictor's head: pooled hidden state Z_p → class logits or one (normalised) value. Linear: parameter names
/// "score.weight"/"score.bias", as Hugging Face's *ForSequenceClassification heads. Mlp: the task adapter's capacity
/// (Linear(H, hidden) → GELU → Linear(hidden, outputs), "dense"/"out_proj" as RoBERTa's classification head), so a
/// comparison with PredGen can rule the head's size out.
/// </summary>
public sealed class PredictorHead : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "score")] private readonly Linear? score;
    [TorchSharp.Utils.ComponentName(Name = "dense")] private readonly Linear? dense;
    [TorchSharp.Utils.ComponentName(Name = "out_proj")] private readonly Linear? outProj;

    public PredictorHead(int hiddenSize, int outputs, PredictorHeadKind kind = PredictorHeadKind.Linear, int mlpHidden = 0) : base(nameof(PredictorHead))
    {
        if (kind == PredictorHeadKind.Mlp)
        {
            if (mlpHidden < 1) throw new ArgumentOutOfRangeException(nameof(mlpHidden), mlpHidden, "an MLP head needs a hidden width");
            dense = nn.Linear(hiddenSize, mlpHidden);
            outProj = nn.Linear(mlpHidden, outputs);
        }
        else
        {
            score = nn.Linear(hiddenSize, outputs);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor pooled)
    {
        if (score is not null) return score.forward(pooled);
        using var scope = NewDisposeScope();
        return outProj!.forward(nn.functional.gelu(dense!.forward(pooled))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean over the non-padding positions, or the hidden state at the last non-padding token (Hugging Face's
    /// *ForSequenceClassification convention: in a causal model only that position has read the whole text). The last
    /// token is found from the mask, so left and right padding both work.
    /// </summary>
    public static Tensor Pool(Tensor hidden, Tensor mask, PoolingKind pooling)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(mask);
        if (pooling == PoolingKind.Last)
        {
            using var scope = NewDisposeScope();
            var positions = arange(mask.shape[1], dtype: ScalarType.Int64, device: mask.device).unsqueeze(0);
            var lastToken = (positions * mask.to(ScalarType.Int64)).argmax(1);                       // [B]
            var index = lastToken.view(-1, 1, 1).expand(hidden.shape[0], 1, hidden.shape[2]);
            return hidden.gather(1, index).squeeze(1).MoveToOuterDisposeScope();
        }
        var m = mask.to(hidden.dtype).unsqueeze(-1);
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1);
    }
}
