using System.CommandLine;
using PredGen.Training.Mine;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Commands;

/// <summary>The estimator settings shared by `predgen mine` and `predgen bench mine`.</summary>
internal sealed class MineCliOptions
{
    private readonly Option<string> bound = new("--bound") { Description = "dv (Donsker-Varadhan, bias-corrected), nwj (MINE-f) or infonce", DefaultValueFactory = _ => "dv" };
    private readonly Option<string> critic = new("--critic") { Description = "separable (f(z)·g(y), all pairs) or concat (MLP on [z; y])", DefaultValueFactory = _ => "separable" };
    private readonly Option<int> seeds = new("--seeds") { Description = "independent runs pooled into the interval", DefaultValueFactory = _ => 3 };
    private readonly Option<int> seed = new("--seed") { Description = "first seed", DefaultValueFactory = _ => 1 };
    private readonly Option<int> steps = new("--steps") { Description = "maximum optimizer steps per run", DefaultValueFactory = _ => new MineOptions().MaxSteps };
    private readonly Option<int> batchSize = new("--batch-size") { Description = "samples per step", DefaultValueFactory = _ => new MineOptions().BatchSize };
    private readonly Option<int> hidden = new("--hidden") { Description = "hidden width of the statistics network", DefaultValueFactory = _ => new MineOptions().HiddenSize };
    private readonly Option<double> learningRate = new("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => new MineOptions().LearningRate };
    private readonly Option<int> bootstrap = new("--bootstrap") { Description = "bootstrap resamples of each held-out evaluation", DefaultValueFactory = _ => new MineOptions().BootstrapSamples };

    private readonly Option<int> threads = new("--threads") { Description = "libtorch intra-op threads (0: one per core). Default 1: the critic's matmuls are small, and on the shared 2-core box one thread ran about 5x faster than two", DefaultValueFactory = _ => 1 };
    private readonly Option<double> clip = new("--clip") { Description = "largest gradient norm per step (0: off)", DefaultValueFactory = _ => new MineOptions().GradientClip };
    private readonly Option<int> patience = new("--patience") { Description = "evaluations without improvement before stopping", DefaultValueFactory = _ => new MineOptions().Patience };

    private readonly Option<string> transform = new("--transform") { Description = "per-column map before the critic: copula (rank-Gaussianization of continuous columns, the default: robust to heavy tails and monotone bends) or standardize", DefaultValueFactory = _ => MineOptions.Name(new MineOptions().Transform) };

    private readonly Option<double> weightDecay = new("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => new MineOptions().WeightDecay };

    public static MineCliOptions Create() => new();

    public void AddTo(Command command)
    {
        command.Options.Add(bound);
        command.Options.Add(critic);
        command.Options.Add(seeds);
        command.Options.Add(seed);
        command.Options.Add(steps);
        command.Options.Add(batchSize);
        command.Options.Add(hidden);
        command.Options.Add(learningRate);
        command.Options.Add(bootstrap);
        command.Options.Add(threads);
        command.Options.Add(clip);
        command.Options.Add(patience);
        command.Options.Add(weightDecay);
        command.Options.Add(transform);
    }

    public MineOptions Read(ParseResult parse)
    {
        TorchRuntime.Apply(new TorchOptions { Device = "cpu", Threads = parse.GetValue(threads) });
        return new()
        {
        GradientClip = parse.GetValue(clip),
        Patience = parse.GetValue(patience),
        WeightDecay = parse.GetValue(weightDecay),
        Transform = MineOptions.ParseTransform(parse.GetValue(transform)!),
        Bound = MineOptions.ParseBound(parse.GetValue(bound)!),
        Critic = MineOptions.ParseCritic(parse.GetValue(critic)!),
        Seeds = parse.GetValue(seeds),
        Seed = parse.GetValue(seed),
        MaxSteps = parse.GetValue(steps),
        BatchSize = parse.GetValue(batchSize),
        HiddenSize = parse.GetValue(hidden),
        LearningRate = parse.GetValue(learningRate),
        BootstrapSamples = parse.GetValue(bootstrap),
        };
    }
}
