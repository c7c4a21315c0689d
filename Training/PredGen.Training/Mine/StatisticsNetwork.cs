using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Mine;

/// <summary>
/// The statistics network T(z, y) of MINE. Scores are asked for in one shape for every critic: the joint pairs
/// (z_i, y_i) and, for each row, the product-of-marginals pairs (z_i, y_partner[i,k]).
/// </summary>
public abstract class StatisticsNetwork : nn.Module
{
    protected StatisticsNetwork(string name) : base(name)
    {
    }

    /// <summary>T(z_i, y_i) for every row: [N].</summary>
    public abstract Tensor Joint(Tensor z, Tensor y);

    /// <summary>T(z_i, y_j) with j = partners[i, k]: z is [N, dz], y is [M, dy], partners is [N, K] (int64, into y).</summary>
    public abstract Tensor Pairs(Tensor z, Tensor y, Tensor partners);

    /// <summary>Both at once on one batch (z and y row-aligned); critics that can share work override it.</summary>
    public virtual (Tensor Joint, Tensor Marginal) Score(Tensor z, Tensor y, Tensor partners) => (Joint(z, y), Pairs(z, y, partners));

    public static StatisticsNetwork Create(MineOptions options, int zDim, int yDim, Random rng)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        return options.Critic switch
        {
            CriticKind.Separable => new SeparableCritic(zDim, yDim, options.HiddenSize, options.HiddenLayers,
                Math.Max(options.EmbeddingSize, yDim + 2), rng),
            CriticKind.Concat => new ConcatCritic(zDim, yDim, options.HiddenSize, options.HiddenLayers, rng),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
    }
}

/// <summary>An ELU MLP (smooth: the log density ratios it must fit are smooth, e.g. quadratic for Gaussians, and ELU
/// fitted them better than ReLU on the benchmark) whose initial weights come from a seeded <see cref="Random"/>, never from libtorch's global
/// generator: estimates are reproducible even while other code (or other tests) draws random numbers in parallel.</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Linear> layers;

    public Mlp(string name, int input, int hidden, int hiddenLayers, int output, Random rng) : base(name)
    {
        var list = new List<Linear>();
        int width = input;
        for (int i = 0; i < hiddenLayers; i++)
        {
            list.Add(SeededLinear(width, hidden, rng));
            width = hidden;
        }
        list.Add(SeededLinear(width, output, rng));
        layers = nn.ModuleList(list.ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = input;
        for (int i = 0; i < layers.Count; i++)
        {
            x = layers[i].forward(x);
            if (i < layers.Count - 1) x = nn.functional.elu(x, 1.0);
        }
        return x;
    }

    /// <summary>PyTorch's default Linear initialisation (uniform in ±1/sqrt(fan_in) for weight and bias).</summary>
    private static Linear SeededLinear(int input, int output, Random rng)
    {
        var linear = nn.Linear(input, output);
        double bound = 1.0 / Math.Sqrt(input);
        var w = new float[input * output];
        for (int i = 0; i < w.Length; i++) w[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        var b = new float[output];
        for (int i = 0; i < b.Length; i++) b[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        using (no_grad())
        {
            using var wt = tensor(w, [output, input]);
            using var bt = tensor(b, [output]);
            linear.weight!.copy_(wt);
            linear.bias!.copy_(bt);
        }
        return linear;
    }
}

/// <summary>T(z, y) = f(z)·g(y): every pair of a batch from one matmul (see <see cref="CriticKind.Separable"/>).</summary>
internal sealed class SeparableCritic : StatisticsNetwork
{
    private readonly Mlp f;
    private readonly Mlp g;

    public SeparableCritic(int zDim, int yDim, int hidden, int hiddenLayers, int embedding, Random rng) : base(nameof(SeparableCritic))
    {
        f = new Mlp("f", zDim, hidden, hiddenLayers, embedding, rng);
        g = new Mlp("g", yDim, hidden, hiddenLayers, embedding, rng);
        RegisterComponents();
    }

    public override Tensor Joint(Tensor z, Tensor y) => (f.forward(z) * g.forward(y)).sum(1);

    public override Tensor Pairs(Tensor z, Tensor y, Tensor partners) =>
        f.forward(z).matmul(g.forward(y).t()).gather(1, partners);

    public override (Tensor Joint, Tensor Marginal) Score(Tensor z, Tensor y, Tensor partners)
    {
        var all = f.forward(z).matmul(g.forward(y).t());
        return (all.diagonal(), all.gather(1, partners));
    }
}

/// <summary>The original MINE critic: an MLP on the concatenation [z; y].</summary>
internal sealed class ConcatCritic : StatisticsNetwork
{
    private readonly Mlp t;

    public ConcatCritic(int zDim, int yDim, int hidden, int hiddenLayers, Random rng) : base(nameof(ConcatCritic))
    {
        t = new Mlp("t", zDim + yDim, hidden, hiddenLayers, 1, rng);
        RegisterComponents();
    }

    public override Tensor Joint(Tensor z, Tensor y) => t.forward(cat([z, y], 1)).squeeze(1);

    public override Tensor Pairs(Tensor z, Tensor y, Tensor partners)
    {
        long n = partners.shape[0], k = partners.shape[1];
        var yPartner = y.index_select(0, partners.flatten()).view(n, k, y.shape[1]);
        var zRepeated = z.unsqueeze(1).expand(n, k, z.shape[1]);
        return t.forward(cat([zRepeated, yPartner], 2)).squeeze(2);
    }
}
