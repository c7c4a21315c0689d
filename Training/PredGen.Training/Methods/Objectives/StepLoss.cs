using PredGen.Shared.Data;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>The loss of one micro-batch: what backward runs on, and its parts for metrics.jsonl.</summary>
internal sealed record StepLoss(Tensor Total, double Loss, double? WriterLoss, double? DirectorLoss);

/// <summary>
/// One micro-batch's loss for the run's method: the three objectives share the prompts and targets, and the generative
/// ones the gold answers. The trainer calls this; MethodsBenchmark times the same objectives.
/// </summary>
internal static class MethodObjective
{
    /// <param name="p">PredGen's scheduled-sampling probability at this step (<see cref="ScheduledSampling.Probability"/>).</param>
    /// <param name="tokens">Prompt and answer tokens the micro-batch fed, for tokens/s.</param>
    public static StepLoss Loss(MethodNetwork network, TrainOptions options, IReadOnlyList<PreparedRow> batch, ScheduledSampling sampling,
        double p, Random random, out int tokens)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(sampling);
        var prompts = batch.Select(r => network.Prompt(new TextInput(r.Text, r.TextB))).ToList();
        var targets = network.Targets(batch);
        tokens = prompts.Sum(x => x.Length);
        if (options.Method == MethodKind.Predictor) return PredictorObjective.Loss(network, prompts, targets);

        var answers = batch.Select(network.Answer).ToList();
        tokens += answers.Sum(a => a.Length + 1);
        if (options.Method == MethodKind.Generator) return GeneratorObjective.Loss(network, prompts, answers, options.TrainOnPrompt, options.DigitWeights);

        bool[,]? mask = p > 0 ? sampling.DrawMask(batch.Count, answers.Max(a => a.Length), p, random) : null;
        return PredGenObjective.Loss(network, prompts, answers, targets, mask, options.TrainOnPrompt, options.DigitWeights, options.Loss);
    }
}
