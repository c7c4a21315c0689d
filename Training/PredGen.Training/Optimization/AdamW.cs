using TorchSharp;
using PredGen.Training.Model;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Optimization;

/// <summary>
/// AdamW (Loshchilov and Hutter 2019) with named state, so a checkpoint stores the moments next to the weights and a
/// resumed run continues bit for bit. Decoupled weight decay applies to matrices only (not to biases and norms), as in
/// nanoGPT and the Llama recipe. Fine-tuning (<see cref="Methods.Trainer"/>) and pretraining
/// (<see cref="Pretraining.Pretrainer"/>) both step with it, and both checkpoint it through
/// <see cref="Checkpoints.TrainingCheckpoint"/>.
/// </summary>
internal sealed class AdamW : IDisposable
{
    private readonly List<Slot> slots;
    private readonly double beta1, beta2, epsilon, weightDecay;

    public AdamW(IEnumerable<(string Name, Parameter Parameter, double LearningRateScale)> parameters, double beta1, double beta2, double epsilon, double weightDecay)
    {
        slots = [.. parameters.Select(p => new Slot(p.Name, p.Parameter, p.LearningRateScale))];
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
    }

    public int StepCount { get; private set; }

    public IReadOnlyList<Parameter> Parameters => [.. slots.Select(s => s.Parameter)];

    public void Step(double learningRate)
    {
        StepCount++;
        double correction1 = 1 - Math.Pow(beta1, StepCount);
        double correction2 = 1 - Math.Pow(beta2, StepCount);
        using var _ = no_grad();
        // Explicit Scalars held to the end of the step: TorchSharp 0.107 leaves implicitly converted ones to the
        // finalizer, which can free one while a native op still reads it (see RmsNorm).
        using Scalar b1 = beta1.ToScalar(), keep1 = (1 - beta1).ToScalar(), b2 = beta2.ToScalar(), keep2 = (1 - beta2).ToScalar();
        using Scalar c1 = correction1.ToScalar(), c2 = correction2.ToScalar(), eps = epsilon.ToScalar();
        foreach (var slot in slots)
        {
            var grad = slot.Parameter.grad;
            if (grad is null) continue;
            using var scope = NewDisposeScope();
            double lr = learningRate * slot.Scale;
            using Scalar rate = lr.ToScalar(), decay = (1 - lr * weightDecay).ToScalar();
            var g = grad.to(ScalarType.Float32);
            slot.M ??= zeros_like(g).DetachFromDisposeScope();
            slot.V ??= zeros_like(g).DetachFromDisposeScope();
            slot.M.mul_(b1).add_(g, alpha: keep1);
            slot.V.mul_(b2).addcmul_(g, g, value: keep2);
            var update = (slot.M / c1) / (slot.V / c2).sqrt().add(eps, Scalars.One); // explicit alpha: Tensor + Scalar passes an implicit one
            if (weightDecay > 0 && slot.Parameter.dim() >= 2) slot.Parameter.mul_(decay);
            slot.Parameter.add_((update * rate).to(slot.Parameter.dtype), Scalars.MinusOne);
        }
    }

    public void ZeroGrad()
    {
        foreach (var slot in slots)
        {
            slot.Parameter.grad?.Dispose();
            slot.Parameter.grad = null;
        }
    }

    /// <summary>Moments by name ("m.{name}", "v.{name}"), for the checkpoint.</summary>
    public Dictionary<string, Tensor> State()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var s in slots)
        {
            if (s.M is not null) state["m." + s.Name] = s.M;
            if (s.V is not null) state["v." + s.Name] = s.V;
        }
        return state;
    }

    public void Load(IReadOnlyDictionary<string, Tensor> state, int stepCount)
    {
        StepCount = stepCount;
        foreach (var s in slots)
        {
            s.M?.Dispose();
            s.V?.Dispose();
            s.M = state.TryGetValue("m." + s.Name, out var m) ? m.to(s.Parameter.device).DetachFromDisposeScope() : null;
            s.V = state.TryGetValue("v." + s.Name, out var v) ? v.to(s.Parameter.device).DetachFromDisposeScope() : null;
        }
    }

    public void Dispose()
    {
        foreach (var s in slots)
        {
            s.M?.Dispose();
            s.V?.Dispose();
        }
    }

    private sealed class Slot(string name, Parameter parameter, double scale)
    {
        public string Name { get; } = name;
        public Parameter Parameter { get; } = parameter;
        public double Scale { get; } = scale;
        public Tensor? M { get; set; }
        public Tensor? V { get; set; }
    }
}
