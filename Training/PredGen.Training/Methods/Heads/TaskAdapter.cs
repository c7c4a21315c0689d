using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// PredGen's task adapter (the paper's answer to format mismatch): the hidden states at the model's own answer tokens
/// Z[n:n+m] (zero-padded to a fixed number of positions), preceded by the prompt's last state when the model card says so
/// (<see cref="MethodNetwork.AdapterInput"/> builds that input, the same way in training, decoding and label scoring)
/// → class logits or one normalised value, through a two-layer MLP. Reads all positions jointly, so a number's digits
/// can be weighed by place. Its loss is L_D (<see cref="MethodNetwork.DirectorLoss"/>), combined with the writer's by
/// <see cref="WriterDirectorLoss"/>.
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
