using PredGen.Cli.Serving;
using PredGen.Shared.Models;

namespace PredGen.Cli.Tests.Serving;

/// <summary>
/// A deterministic stand-in for a trained model in transport tests: "good" -> positive (0.9), otherwise negative (0.8);
/// texts containing "explode" make the batch throw (a transient model failure), texts containing "nan-output" get NaN probabilities, texts containing "slow" make it take
/// <see cref="SlowMs"/>. Counts every row it computes.
/// </summary>
public sealed class ScriptedEngine(string name, int computeMs = 0) : IPredictionEngine
{
    private int _rows;
    private int _batches;
    public int Rows => Volatile.Read(ref _rows);
    public int Batches => Volatile.Read(ref _batches);
    /// <summary>Batches that have started computing (finished or not).</summary>
    public int Started => Volatile.Read(ref _started);
    /// <summary>How long a batch holding a text with "slow" in it takes.</summary>
    public const int SlowMs = 3000;
    private int _started;
    public bool Disposed { get; private set; }
    public List<int> BatchSizes { get; } = [];

    public IReadOnlyList<EnginePrediction> PredictBatch(IReadOnlyList<EngineInput> batch, bool withProbabilities, bool withText)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        if (batch.Any(b => b.Text.Contains("explode", StringComparison.Ordinal))) throw new InvalidOperationException("scripted model failure");
        Interlocked.Increment(ref _started);
        if (computeMs > 0) Thread.Sleep(computeMs);
        if (batch.Any(b => b.Text.Contains("slow", StringComparison.Ordinal))) Thread.Sleep(SlowMs);
        // A real model disposed under a running batch reads freed tensors: fail loudly instead.
        ObjectDisposedException.ThrowIf(Disposed, this);
        Interlocked.Add(ref _rows, batch.Count);
        Interlocked.Increment(ref _batches);
        lock (BatchSizes) BatchSizes.Add(batch.Count);
        return batch.Select(b =>
        {
            bool good = b.Text.Contains("good", StringComparison.Ordinal);
            string label = good ? "positive" : "negative";
            double p = good ? 0.9 : 0.8;
            if (b.Text.Contains("nan-output", StringComparison.Ordinal)) p = double.NaN; // a model gone numerically wrong
            var probabilities = new Dictionary<string, double> { [label] = p, [good ? "negative" : "positive"] = 1 - p };
            return new EnginePrediction(label, null, withProbabilities ? probabilities : null, withText ? name + ":" + label : null);
        }).ToList();
    }

    public void Dispose() => Disposed = true;

}

/// <summary>Hands out one ScriptedEngine per model folder loaded, named after the job id.</summary>
public sealed class ScriptedEngineLoader(int computeMs = 0) : IPredictionEngineLoader
{
    private readonly List<ScriptedEngine> _loaded = [];

    public IReadOnlyList<ScriptedEngine> Loaded { get { lock (_loaded) return [.. _loaded]; } }

    public int TotalRows => Loaded.Sum(e => e.Rows);

    public IPredictionEngine Load(string modelDirectory, ChampionPointer champion)
    {
        if (!Directory.Exists(modelDirectory)) throw new DirectoryNotFoundException(modelDirectory);
        var engine = new ScriptedEngine(champion.JobId, computeMs);
        lock (_loaded) _loaded.Add(engine);
        return engine;
    }
}
