using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>
/// A linear projection (Hugging Face names: weight, bias) with an optional low-rank adapter beside it:
/// y = x W^T + b + (alpha / r) * B(A(dropout(x))). The adapter's parameters are named lora_A.weight and lora_B.weight
/// (PEFT's names), so adapters save and load by name. Attaching, merging and detaching are done by
/// <see cref="Lora.LoraAdapters"/>; this class only knows the arithmetic.
/// </summary>
public sealed class AdaptableLinear : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    private Parameter weight;

    [TorchSharp.Utils.ComponentName(Name = "bias")]
    private Parameter? bias;

    private Linear? loraA;
    private Linear? loraB;

    public AdaptableLinear(long inFeatures, long outFeatures, bool hasBias, Device? device = null) : base(nameof(AdaptableLinear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = new Parameter(empty(outFeatures, inFeatures, device: device));
        bias = hasBias ? new Parameter(zeros(outFeatures, device: device)) : null;
        RegisterComponents();
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Parameter Weight => weight;
    public Parameter? Bias => bias;
    public int LoraRank { get; private set; }
    public double LoraAlpha { get; private set; }
    public double LoraDropout { get; private set; }
    public bool HasAdapter => loraA is not null;
    public double LoraScale => LoraRank == 0 ? 0 : LoraAlpha / LoraRank;
    internal Linear? LoraA => loraA;
    internal Linear? LoraB => loraB;

    public override Tensor forward(Tensor input)
    {
        var y = nn.functional.linear(input, weight, bias);
        if (loraA is null || loraB is null) return y;
        using var scope = NewDisposeScope();
        var x = LoraDropout > 0 ? nn.functional.dropout(input, LoraDropout, training) : input;
        var update = loraB.forward(loraA.forward(x));
        using var scale = LoraScale.ToScalar(); // explicit, held to the end (see RmsNorm)
        return y.add(update, scale).MoveToOuterDisposeScope();
    }

    /// <summary>Adds A (Kaiming-uniform, as nn.Linear and PEFT) and B (zeros): the adapted layer starts equal to the base.</summary>
    internal void AttachAdapter(int rank, double alpha, double dropout)
    {
        if (loraA is not null) throw new InvalidOperationException("This projection already has a LoRA adapter.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        var a = nn.Linear(InFeatures, rank, hasBias: false, device: weight.device, dtype: weight.dtype);
        var b = nn.Linear(rank, OutFeatures, hasBias: false, device: weight.device, dtype: weight.dtype);
        using (no_grad())
        {
            nn.init.kaiming_uniform_(a.weight!, Math.Sqrt(5));
            nn.init.zeros_(b.weight!);
        }
        loraA = a;
        loraB = b;
        register_module("lora_A", a);
        register_module("lora_B", b);
        LoraRank = rank;
        LoraAlpha = alpha;
        LoraDropout = dropout;
    }

    /// <summary>W += (alpha / r) B A, then the adapter is removed: the merged layer computes the same function.</summary>
    internal void MergeAdapter()
    {
        if (loraA is null || loraB is null) return;
        using (no_grad())
        {
            using var delta = matmul(loraB.weight!.to(ScalarType.Float32), loraA.weight!.to(ScalarType.Float32)).mul_(LoraScale);
            using var merged = weight.to(ScalarType.Float32).add_(delta);
            weight.copy_(merged);
        }
        DetachAdapter();
    }

    internal void DetachAdapter()
    {
        if (loraA is null) return;
        _internal_submodules.Remove("lora_A");
        _internal_submodules.Remove("lora_B");
        loraA.Dispose();
        loraB?.Dispose();
        loraA = null;
        loraB = null;
        LoraRank = 0;
        LoraAlpha = 0;
        LoraDropout = 0;
    }
}
