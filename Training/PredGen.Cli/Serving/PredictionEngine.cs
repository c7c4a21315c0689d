using PredGen.Shared.Models;

namespace PredGen.Cli.Serving;

public sealed record EngineInput(string Text, string? TextB);

public sealed record EnginePrediction(string? Label, double? Value, IReadOnlyDictionary<string, double>? Probabilities, string? GeneratedText);

/// <summary>
/// The seam between the worker and the model: one batched call per dynamic batch, always on the batcher's one
/// inference thread (TorchSharp state is per thread; a model is never used concurrently).
/// </summary>
public interface IPredictionEngine : IDisposable
{
    IReadOnlyList<EnginePrediction> PredictBatch(IReadOnlyList<EngineInput> batch, bool withProbabilities, bool withText);
}

/// <summary>Loads the model of a champion pointer from a local folder (the worker downloads it first).</summary>
public interface IPredictionEngineLoader
{
    IPredictionEngine Load(string modelDirectory, ChampionPointer champion);
}
