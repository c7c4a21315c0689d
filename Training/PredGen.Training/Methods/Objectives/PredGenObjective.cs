using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// PredGen's objective: L_W with scheduled sampling and L_D of the task adapter on the states at the model's own answer
/// (the adapter's input at inference; <see cref="MethodNetwork.PredGenForward"/>), combined by the Writer-Director
/// Alignment Loss (<see cref="WriterDirectorLoss"/>).
/// </summary>
internal static class PredGenObjective
{
    /// <param name="ownTokenMask">[rows, answer positions] where scheduled sampling feeds the model's own token; null
    /// feeds the gold answer.</param>
    public static StepLoss Loss(MethodNetwork network, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> answers, Tensor targets, bool[,]? ownTokenMask,
        bool trainOnPrompt, bool digitWeights, LossVariant variant)
    {
        ArgumentNullException.ThrowIfNull(network);
        var pass = network.PredGenForward(prompts, answers, ownTokenMask, trainOnPrompt, digitWeights);
        double writer = pass.WriterLoss.item<float>();
        var output = network.Head!.forward(pass.AdapterInput).to(ScalarType.Float32);
        var director = network.DirectorLoss(output, targets);
        var total = WriterDirectorLoss.Combine(pass.WriterLoss.to(ScalarType.Float32), director, variant);
        return new StepLoss(total, total.item<float>(), writer, director.item<float>());
    }
}
