using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>The Predictor's objective: L_D of its head on the pooled prompt states (<see cref="MethodNetwork.PredictorForward"/>).</summary>
internal static class PredictorObjective
{
    public static StepLoss Loss(MethodNetwork network, IReadOnlyList<int[]> prompts, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(network);
        var (output, _) = network.PredictorForward(prompts);
        var loss = network.DirectorLoss(output, targets);
        double value = loss.item<float>();
        return new StepLoss(loss, value, null, value);
    }
}
