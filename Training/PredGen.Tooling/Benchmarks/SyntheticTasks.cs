using PredGen.Shared.Data;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

using PredGen.Training.Methods;

namespace PredGen.Tooling.Benchmarks;

/// <summary>
/// Tiny data sets that a randomly initialised tiny model learns in seconds (a keyword decides the class or the value),
/// and a tiny random base checkpoint: what the method tests and `predgen bench methods` train on, so neither needs a
/// download or the pretrained base.
/// </summary>
public static class SyntheticTasks
{
    private static readonly string[] Fillers = ["it was", "so", "really", "the day was", "quite", "honestly"];
    private static readonly (string Word, string Label)[] Sentiment =
        [("good", "pos"), ("great", "pos"), ("nice", "pos"), ("bad", "neg"), ("awful", "neg"), ("poor", "neg")];
    private static readonly (string Word, double Value)[] Sizes =
        [("tiny", 0.5), ("small", 2.0), ("medium", 4.5), ("large", 7.0), ("huge", 9.5)];

    /// <summary>Writes train/validation/test.jsonl: "pos"/"neg" decided by a sentiment word among filler.</summary>
    public static void WriteClassification(string directory, int trainRows = 24, int testRows = 12, int seed = 1)
    {
        var random = new Random(seed);
        PreparedRow Row(string split, int i)
        {
            var (word, label) = Sentiment[random.Next(Sentiment.Length)];
            return PreparedRow.Classification($"{split}-{i}", $"{Fillers[random.Next(Fillers.Length)]} {word}", label);
        }
        Write(directory, trainRows, testRows, Row);
    }

    /// <summary>Writes train/validation/test.jsonl: a size word decides the value (0.5 … 9.5, one decimal).</summary>
    public static void WriteRegression(string directory, int trainRows = 30, int testRows = 10, int seed = 2)
    {
        var random = new Random(seed);
        PreparedRow Row(string split, int i)
        {
            var (word, value) = Sizes[(i + random.Next(2)) % Sizes.Length];
            return PreparedRow.Regression($"{split}-{i}", $"{Fillers[random.Next(Fillers.Length)]} {word}", value);
        }
        Write(directory, trainRows, testRows, Row);
    }

    /// <summary>A randomly initialised checkpoint (byte tokenizer) of the given config, default <see cref="LlamaConfig.Tiny"/>.</summary>
    public static string WriteRandomBase(string directory, LlamaConfig? config = null, int seed = 7)
    {
        manual_seed(seed);
        using var model = new LlamaForCausalLM(config ?? LlamaConfig.Tiny(ByteTokenizer.Size));
        ModelDirectory.Save(model, new ByteTokenizer(), directory);
        return directory;
    }

    private static void Write(string directory, int trainRows, int testRows, Func<string, int, PreparedRow> row)
    {
        Directory.CreateDirectory(directory);
        PreparedRow.WriteJsonl(Path.Combine(directory, DatasetSplit.TrainFile), Enumerable.Range(0, trainRows).Select(i => row(DatasetSplit.Train, i)).ToList());
        PreparedRow.WriteJsonl(Path.Combine(directory, DatasetSplit.ValidationFile), Enumerable.Range(0, testRows).Select(i => row(DatasetSplit.Validation, i)).ToList());
        PreparedRow.WriteJsonl(Path.Combine(directory, DatasetSplit.TestFile), Enumerable.Range(0, testRows).Select(i => row(DatasetSplit.Test, i)).ToList());
    }
}
