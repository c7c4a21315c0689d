using PredGen.Training.Runtime;

namespace PredGen.Training.Methods;

/// <summary>A fine-tuned model directory (weights, tokenizer, head, model card) ready to predict.</summary>
public sealed class TrainedModel : IDisposable
{
    private TrainedModel(ModelCard card) => Card = card;

    public ModelCard Card { get; }

    public static TrainedModel Load(string modelDirectory, TorchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var card = ModelCard.Load(modelDirectory);
        _ = card;
        throw new NotImplementedException("TrainedModel.Load lands with the backbone integration (issue 4).");
    }

    /// <summary>Predictions for a batch. <paramref name="withProbabilities"/>: class probabilities (classification);
    /// <paramref name="withText"/>: keep the generated answer (Generator, PredGen).</summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<TextInput> batch, bool withProbabilities = true, bool withText = true) =>
        throw new NotImplementedException();

    public RepresentationSet Represent(IReadOnlyList<TextInput> batch) => throw new NotImplementedException();

    public void Dispose()
    {
    }
}
