using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PredGen.Training.Optimization;
using TorchSharp.Modules;
using AdamW = PredGen.Training.Optimization.AdamW;
using static TorchSharp.torch;

namespace PredGen.Training.Checkpoints;

/// <summary>
/// The one resumable checkpoint of fine-tuning (<see cref="Methods.Trainer"/>) and pretraining
/// (<see cref="Pretraining.Pretrainer"/>), in <c>{out}/checkpoints/</c>: the trainable parameters ("param.{name}") and
/// the AdamW moments ("adam.m.{name}", "adam.v.{name}") in <c>state-{step}.safetensors</c>, and the loop's own state in
/// <c>state.json</c>, which names that weights file and the optimizer's step count. state.json is written last, by
/// rename: it is the commit. A process killed at any moment leaves the previous state.json and the weights file it
/// names (older weights files are deleted only after the new commit), and <c>CheckpointSync</c> mirrors the folder to
/// blob storage by the same rule.
/// </summary>
internal static class TrainingCheckpoint
{
    public const string DirectoryName = "checkpoints";
    public const string StateFile = "state.json";

    /// <summary>What checkpoints written before the weights file was named by step used (it is still read).</summary>
    private const string UnnamedWeightsFile = "state.safetensors";

    private const string WeightsFileKey = "weights_file";
    private const string OptimizerStepsKey = "optimizer_steps";
    private const string ParameterPrefix = "param.";
    private const string OptimizerPrefix = "adam.";

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, StateFile));

    /// <summary>Writes the parameters, the optimizer state and <paramref name="state"/> (serialised with
    /// <paramref name="json"/>; it must be a JSON object) as the checkpoint of <paramref name="step"/>.</summary>
    public static void Save<TState>(string directory, int step, TState state, IReadOnlyList<(string Name, Parameter Parameter)> parameters,
        AdamW optimizer, JsonSerializerOptions json)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        Directory.CreateDirectory(directory);
        string weightsFile = string.Create(CultureInfo.InvariantCulture, $"state-{step:D7}.safetensors");
        var tensors = parameters.ToDictionary(p => ParameterPrefix + p.Name, p => (Tensor)p.Parameter, StringComparer.Ordinal);
        foreach (var (name, moment) in optimizer.State()) tensors[OptimizerPrefix + name] = moment;
        string weightsPath = Path.Combine(directory, weightsFile);
        SafeTensors.Write(weightsPath + ".tmp", tensors);
        File.Move(weightsPath + ".tmp", weightsPath, overwrite: true);

        var node = JsonSerializer.SerializeToNode(state, json) as JsonObject
            ?? throw new ArgumentException("a checkpoint's state must serialise to a JSON object", nameof(state));
        node[WeightsFileKey] = weightsFile;
        node[OptimizerStepsKey] = optimizer.StepCount;
        string statePath = Path.Combine(directory, StateFile);
        File.WriteAllText(statePath + ".tmp", node.ToJsonString());
        File.Move(statePath + ".tmp", statePath, overwrite: true);

        foreach (var old in Directory.EnumerateFiles(directory, "state*.safetensors"))
            if (!string.Equals(Path.GetFileName(old), weightsFile, StringComparison.Ordinal)) File.Delete(old);
    }

    /// <summary>Copies the checkpoint's parameters into <paramref name="parameters"/> (by name), its moments into
    /// <paramref name="optimizer"/>, and returns the loop's state.</summary>
    public static TState Restore<TState>(string directory, IReadOnlyList<(string Name, Parameter Parameter)> parameters, AdamW optimizer,
        JsonSerializerOptions json)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        string statePath = Path.Combine(directory, StateFile);
        var node = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject
            ?? throw new InvalidDataException($"{statePath}: not a JSON object");
        string weightsFile = node[WeightsFileKey]?.GetValue<string>() ?? UnnamedWeightsFile;
        int optimizerSteps = node[OptimizerStepsKey]?.GetValue<int>() ?? 0;
        node.Remove(WeightsFileKey);
        var state = node.Deserialize<TState>(json) ?? throw new InvalidDataException($"{statePath}: empty checkpoint state");

        string weightsPath = Path.Combine(directory, weightsFile);
        var tensors = SafeTensors.Read(weightsPath);
        try
        {
            NamedWeights.CopyInto(parameters, tensors, $"{weightsPath} (written with other options?)", ParameterPrefix);
            optimizer.Load(tensors.Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value, StringComparer.Ordinal), optimizerSteps);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return state;
    }
}
