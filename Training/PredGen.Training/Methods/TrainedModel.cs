using PredGen.Training.Checkpoints;
using PredGen.Training.Runtime;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>A fine-tuned model directory (weights, tokenizer, head, model card) ready to predict.</summary>
public sealed class TrainedModel : IDisposable
{
    private readonly MethodNetwork network;

    private TrainedModel(MethodNetwork network) => this.network = network;

    public ModelCard Card => network.Card;

    public static TrainedModel Load(string modelDirectory, TorchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var card = ModelCard.Load(modelDirectory);
        var (backbone, tokenizer) = ModelDirectory.Load(modelDirectory, options);
        MethodNetwork? network = null;
        try
        {
            backbone.eval();
            network = new MethodNetwork(backbone, tokenizer, card);
            if (network.Head != null)
            {
                string headPath = Path.Combine(modelDirectory, ModelCard.HeadFileName);
                if (!File.Exists(headPath)) throw new FileNotFoundException($"{headPath} is missing: the {card.Method} head was not saved.", headPath);
                NamedWeights.ReadInto(headPath, network.Head.named_parameters());
                network.Head.eval();
            }
            return new TrainedModel(network);
        }
        catch
        {
            // A folder missing its head (or with a wrong one) must not leak the backbone: a serving worker that
            // retried it every poll would leak a whole model each time.
            if (network != null) network.Dispose();
            else backbone.Dispose();
            throw;
        }
    }

    /// <summary>The model directory <see cref="Load"/> reads: backbone and tokenizer, the head's weights, the card.</summary>
    internal static void Save(MethodNetwork network, string modelDir)
    {
        if (Directory.Exists(modelDir)) Directory.Delete(modelDir, recursive: true);
        ModelDirectory.Save(network.Backbone, network.Tokenizer, modelDir);
        if (network.Head != null)
            SafeTensors.Write(Path.Combine(modelDir, ModelCard.HeadFileName),
                network.Head.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal));
        network.Card.Save(modelDir);
    }

    /// <summary>
    /// Predictions for a batch. Classification with <paramref name="withProbabilities"/> scores every label exactly
    /// (probabilities sum to 1); without, Generator and PredGen decode greedily under the label trie.
    /// <paramref name="withText"/>: keep the generated answer (Generator, PredGen).
    /// </summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<TextInput> batch, bool withProbabilities = true, bool withText = true)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Inference.Predict(network, batch, withProbabilities, withText);
    }

    public RepresentationSet Represent(IReadOnlyList<TextInput> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Inference.Represent(network, batch);
    }

    internal MethodNetwork Network => network;

    public void Dispose() => network.Dispose();
}
