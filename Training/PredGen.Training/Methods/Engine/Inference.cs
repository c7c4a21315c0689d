using PredGen.Shared.Data;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// Prediction and representation for each method (what <see cref="TrainedModel"/> serves and validation scores).
/// <list type="bullet">
/// <item>Predictor: the head over the pooled prompt.</item>
/// <item>Generator: classification by exact label scoring (probabilities over the label set, summing to 1) or, without
/// probabilities, greedy decoding constrained to the label trie; regression by greedy decoding under the number
/// grammar (always parses).</item>
/// <item>PredGen: greedy decoding under the answer grammar, then the task adapter over the hidden states at the
/// generated tokens gives the served label (and probabilities) or value; the decoded answer is kept as the generated
/// text. With probabilities, the greedy label and its states come out of exact label scoring's forward. Training builds
/// the adapter's input the same way (MethodNetwork.PredGenForward).</item>
/// </list>
/// </summary>
internal static class Inference
{
    public static IReadOnlyList<Prediction> Predict(MethodNetwork network, IReadOnlyList<TextInput> batch, bool withProbabilities, bool withText)
    {
        if (batch.Count == 0) return [];
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var prompts = batch.Select(network.Prompt).ToList();
        var card = network.Card;
        var labels = card.Labels;
        var predictions = new Prediction[batch.Count];

        if (card.Method == MethodKind.Predictor)
        {
            var (output, _) = network.PredictorForward(prompts);
            if (network.IsClassification)
            {
                var probabilities = Rows(nn.functional.softmax(output, -1));
                for (int b = 0; b < batch.Count; b++) predictions[b] = Classified(labels!, probabilities[b], withProbabilities, null);
            }
            else
            {
                var values = output.squeeze(-1).cpu().data<float>().ToArray();
                for (int b = 0; b < batch.Count; b++) predictions[b] = new Prediction(null, Denormalise(card, values[b]), null, null);
            }
            return predictions;
        }

        if (network.IsClassification && withProbabilities)
        {
            var (logProbs, states, greedy) = network.ScoreLabels(prompts);            // [B, K], [B·K, M, H], [B]
            var generator = Rows(nn.functional.softmax(logProbs, -1));
            int k = labels!.Count;
            float[][]? adapter = null;
            if (card.Method == MethodKind.PredGen)
            {
                // The adapter reads the states of the answer the model writes, greedily under the trie, exactly as
                // training builds its input (MethodNetwork.PredGenForward).
                var index = tensor(greedy.Select((label, b) => (long)(b * k + label)).ToArray(), device: states.device);
                var z = states.index_select(0, index);
                adapter = Rows(nn.functional.softmax(network.Head!.forward(z).to(ScalarType.Float32), -1));
            }
            for (int b = 0; b < batch.Count; b++)
            {
                // The Generator serves the label it scores highest (its probabilities' argmax); PredGen's text is the
                // answer its adapter read.
                string written = labels[adapter != null ? greedy[b] : ArgMax(generator[b])];
                predictions[b] = Classified(labels, adapter?[b] ?? generator[b], withProbabilities: true, withText ? written : null);
            }
            return predictions;
        }

        var (tokens, answerStates) = network.Decode(prompts);
        if (network.IsClassification)
        {
            var trie = (LabelTrie)network.Grammar!;
            float[][]? adapter = card.Method == MethodKind.PredGen
                ? Rows(nn.functional.softmax(network.Head!.forward(answerStates).to(ScalarType.Float32), -1))
                : null;
            for (int b = 0; b < batch.Count; b++)
            {
                int label = trie.LabelOf(tokens[b]);
                if (label < 0) throw new InvalidOperationException("constrained decoding produced an answer outside the label set");
                string written = labels![label];
                predictions[b] = adapter != null
                    ? Classified(labels, adapter[b], withProbabilities, withText ? written : null)
                    : new Prediction(written, null, null, withText ? written : null);
            }
            return predictions;
        }

        var grammar = (NumberGrammar)network.Grammar!;
        float[]? adapterValues = card.Method == MethodKind.PredGen
            ? network.Head!.forward(answerStates).to(ScalarType.Float32).squeeze(-1).cpu().data<float>().ToArray()
            : null;
        for (int b = 0; b < batch.Count; b++)
        {
            double written = grammar.Parse(tokens[b]);
            double value = adapterValues != null ? Denormalise(card, adapterValues[b]) : written;
            predictions[b] = new Prediction(null, value, null, withText ? grammar.Text(tokens[b]) : null);
        }
        return predictions;
    }

    public static RepresentationSet Represent(MethodNetwork network, IReadOnlyList<TextInput> batch)
    {
        if (batch.Count == 0) return new RepresentationSet([], network.Card.Method == MethodKind.Predictor ? null : []);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var prompts = batch.Select(network.Prompt).ToList();
        if (network.Card.Method == MethodKind.Predictor)
        {
            var (_, pooled) = network.PredictorForward(prompts);
            return new RepresentationSet(Rows(pooled.to(ScalarType.Float32)), null);
        }
        var (tokens, states) = network.Decode(prompts);
        int extra = network.Card.AdapterReadsPromptState ? 1 : 0;           // the prompt's last state, read first
        var lengths = tensor(tokens.Select(t => (float)Math.Max(1, t.Length + extra)).ToArray(), device: states.device).view(-1, 1);
        var mean = states.to(ScalarType.Float32).sum(1) / lengths;
        var flat = states.to(ScalarType.Float32).reshape(states.shape[0], -1);
        return new RepresentationSet(Rows(mean), Rows(flat));
    }

    private static Prediction Classified(IReadOnlyList<string> labels, float[] probabilities, bool withProbabilities, string? text)
    {
        int best = ArgMax(probabilities);
        Dictionary<string, double>? dict = null;
        if (withProbabilities)
        {
            dict = new Dictionary<string, double>(StringComparer.Ordinal);
            for (int i = 0; i < labels.Count; i++) dict[labels[i]] = probabilities[i];
        }
        return new Prediction(labels[best], null, dict, text);
    }

    private static double Denormalise(ModelCard card, float normalised) => normalised * card.TargetStd + card.TargetMean;

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static float[][] Rows(Tensor matrix)
    {
        var m = matrix.to(ScalarType.Float32).cpu().contiguous();
        long rows = m.shape[0], cols = m.shape[1];
        var data = m.data<float>().ToArray();
        var result = new float[rows][];
        for (int r = 0; r < rows; r++) result[r] = data.AsSpan((int)(r * cols), (int)cols).ToArray();
        return result;
    }

    /// <summary>Every row predicted in batches of <paramref name="batchSize"/>, classes scored exactly over every label
    /// (probabilities included): the one path of validation, test metrics and <see cref="Evaluation.Evaluate"/>.</summary>
    internal static List<Prediction> PredictRows(MethodNetwork network, IReadOnlyList<PreparedRow> rows, int batchSize, bool withText)
    {
        var predictions = new List<Prediction>(rows.Count);
        for (int i = 0; i < rows.Count; i += batchSize)
        {
            var inputs = rows.Skip(i).Take(batchSize).Select(r => new TextInput(r.Text, r.TextB)).ToList();
            predictions.AddRange(Predict(network, inputs, withProbabilities: true, withText));
        }
        return predictions;
    }
}
