using PredGen.Shared.Models;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Serving;

/// <summary>
/// A fine-tuned model directory served through <see cref="TrainedModel"/>: the method's own prompt, KV-cache greedy
/// decoding constrained to labels / numbers, and exact label scoring for classification.
/// </summary>
public sealed class TrainedModelEngine(TrainedModel model) : IPredictionEngine
{
    public TrainedModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    public IReadOnlyList<EnginePrediction> PredictBatch(IReadOnlyList<EngineInput> batch, bool withProbabilities, bool withText)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var inputs = new List<TextInput>(batch.Count);
        foreach (var b in batch) inputs.Add(new TextInput(b.Text, b.TextB));
        var predictions = Model.Predict(inputs, withProbabilities, withText);
        var result = new List<EnginePrediction>(predictions.Count);
        foreach (var p in predictions) result.Add(new EnginePrediction(p.Label, p.Value, p.Probabilities, p.GeneratedText));
        return result;
    }

    public void Dispose() => Model.Dispose();
}

/// <summary>Loads champions with TrainedModel.Load on the configured device (SettingNames.TorchDevice).</summary>
public sealed class TrainedModelEngineLoader(TorchOptions torch) : IPredictionEngineLoader
{
    public IPredictionEngine Load(string modelDirectory, ChampionPointer champion)
    {
        TorchRuntime.Apply(torch);
        return new TrainedModelEngine(TrainedModel.Load(modelDirectory, torch));
    }
}
