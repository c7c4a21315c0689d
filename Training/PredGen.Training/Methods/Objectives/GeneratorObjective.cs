namespace PredGen.Training.Methods;

/// <summary>The Generator's objective: L_W of the gold answer under teacher forcing, nothing else
/// (<see cref="MethodNetwork.TeacherForcedWriterLoss"/>).</summary>
internal static class GeneratorObjective
{
    public static StepLoss Loss(MethodNetwork network, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> answers, bool trainOnPrompt, bool digitWeights)
    {
        ArgumentNullException.ThrowIfNull(network);
        var loss = network.TeacherForcedWriterLoss(prompts, answers, trainOnPrompt, digitWeights);
        double value = loss.item<float>();
        return new StepLoss(loss, value, value, null);
    }
}
