using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Checkpoints;

/// <summary>
/// Tensors stored by name copied into parameters of the same names: a training checkpoint's parameters, the trainer's
/// best validated weights, a fine-tuned model's head. Every parameter must be there; the error names the tensor.
/// </summary>
internal static class NamedWeights
{
    /// <param name="source">What the tensors came from, for the error (a file's path).</param>
    /// <param name="keyPrefix">Stored names carry this before the parameter's name (a checkpoint's "param.").</param>
    public static void CopyInto(IEnumerable<(string Name, Parameter Parameter)> parameters, IReadOnlyDictionary<string, Tensor> tensors,
        string source, string keyPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(tensors);
        using var _ = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            if (!tensors.TryGetValue(keyPrefix + name, out var w)) throw new InvalidDataException($"{source} lacks '{keyPrefix + name}'");
            parameter.copy_(w);
        }
    }

    /// <summary>Reads a safetensors file, copies it into <paramref name="parameters"/> and frees what it read.</summary>
    public static void ReadInto(string path, IEnumerable<(string Name, Parameter Parameter)> parameters)
    {
        var tensors = SafeTensors.Read(path);
        try
        {
            CopyInto(parameters, tensors, path);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
