using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using PredGen.Training.Checkpoints;
using PredGen.Training.Model;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Lora;

/// <summary>LoRA settings (Hu et al. 2021). Target modules are projection names (q_proj) or regular expressions over full module paths.</summary>
public sealed record LoraOptions(int Rank = 8, double Alpha = 16, double Dropout = 0.05, IReadOnlyList<string>? TargetModules = null)
{
    public static readonly IReadOnlyList<string> DefaultTargets = ["q_proj", "k_proj", "v_proj", "o_proj"];

    public IReadOnlyList<string> Targets => TargetModules ?? DefaultTargets;
}

/// <summary>
/// Low-rank adapters on a model's projections: attach (base frozen, A Kaiming-uniform, B zero, scale alpha/r), list
/// the trainable parameters, save/load the adapters alone (PEFT layout: adapter_config.json + adapter_model.safetensors),
/// and merge them into the base weights for serving.
/// (Named LoraAdapters, not Lora: a class named like its namespace cannot be reached as Lora.X from PredGen.Training.*.)
/// </summary>
public static class LoraAdapters
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>PEFT stores adapter tensors under base_model.model.{module path}; we read and write the same names.</summary>
    private const string PeftPrefix = "base_model.model.";

    public static bool IsAdapterParameter(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);
    }

    /// <summary>Freezes every parameter of <paramref name="model"/> and attaches adapters to the matching projections; returns how many.</summary>
    public static int Apply(nn.Module model, LoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var p in model.parameters()) p.requires_grad = false;
        int attached = 0;
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not AdaptableLinear linear || !Matches(name, options.Targets)) continue;
            linear.AttachAdapter(options.Rank, options.Alpha, options.Dropout);
            attached++;
        }
        if (attached == 0)
            throw new ArgumentException($"No projection matches the LoRA targets [{string.Join(", ", options.Targets)}].", nameof(options));
        return attached;
    }

    public static bool HasAdapters(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.modules().OfType<AdaptableLinear>().Any(l => l.HasAdapter);
    }

    /// <summary>Folds every adapter into its base weight (W += alpha/r B A) and removes it; the function computed stays the same.</summary>
    public static void Merge(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var linear in model.modules().OfType<AdaptableLinear>()) linear.MergeAdapter();
    }

    /// <summary>Parameters with requires_grad: after <see cref="Apply"/>, exactly the adapters.</summary>
    public static IReadOnlyList<Parameter> TrainableParameters(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.parameters().Where(p => p.requires_grad).ToList();
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors into the directory <paramref name="path"/>.</summary>
    public static void SaveAdapters(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var adapted = model.named_modules().Where(m => m.module is AdaptableLinear { HasAdapter: true }).ToList();
        if (adapted.Count == 0) throw new InvalidOperationException("The model has no LoRA adapters to save.");
        var first = (AdaptableLinear)adapted[0].module;
        var targets = adapted.Select(m => m.name.Split('.')[^1]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var config = new AdapterConfig("LORA", first.LoraRank, first.LoraAlpha, first.LoraDropout, targets, "none", "CAUSAL_LM");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, ConfigFile), JsonSerializer.Serialize(config, Json));
        var tensors = model.named_parameters()
            .Where(p => IsAdapterParameter(p.name))
            .ToDictionary(p => PeftPrefix + p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        SafeTensors.Write(Path.Combine(path, WeightsFile), tensors);
    }

    /// <summary>Attaches adapters as described by the saved config (if the model has none yet) and loads their weights.</summary>
    public static void LoadAdapters(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = JsonSerializer.Deserialize<AdapterConfig>(File.ReadAllText(Path.Combine(path, ConfigFile)), Json)
            ?? throw new InvalidDataException($"{Path.Combine(path, ConfigFile)} is empty.");
        if (!HasAdapters(model)) Apply(model, new LoraOptions(config.R, config.LoraAlpha, config.LoraDropout, config.TargetModules));
        var weights = SafeTensors.Read(Path.Combine(path, WeightsFile));
        try
        {
            var parameters = model.named_parameters().Where(p => IsAdapterParameter(p.name)).ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
            using var _ = no_grad();
            foreach (var (name, parameter) in parameters)
            {
                if (!weights.TryGetValue(PeftPrefix + name, out var w) && !weights.TryGetValue(name, out w))
                    throw new InvalidDataException($"Adapter {path} is missing tensor '{PeftPrefix + name}'.");
                if (!w.shape.SequenceEqual(parameter.shape))
                    throw new InvalidDataException($"Adapter {path}: tensor '{PeftPrefix + name}' has shape {SafeTensors.Describe(w.shape)}, expected {SafeTensors.Describe(parameter.shape)}.");
                parameter.copy_(w);
            }
            if (weights.Count != parameters.Count)
                throw new InvalidDataException($"Adapter {path} holds {weights.Count} tensors but the model has {parameters.Count} adapter parameters.");
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    private static bool Matches(string modulePath, IReadOnlyList<string> targets)
    {
        string last = modulePath.Split('.')[^1];
        foreach (string target in targets)
        {
            if (target == last || modulePath == target) return true;
            if (target.IndexOfAny(['*', '(', '|', '[', '\\', '^', '$', '+', '?']) >= 0
                && Regex.IsMatch(modulePath, "^(?:" + target + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))) return true;
        }
        return false;
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record AdapterConfig(
        [property: JsonPropertyName("peft_type")] string PeftType,
        [property: JsonPropertyName("r")] int R,
        [property: JsonPropertyName("lora_alpha")] double LoraAlpha,
        [property: JsonPropertyName("lora_dropout")] double LoraDropout,
        [property: JsonPropertyName("target_modules")] IReadOnlyList<string> TargetModules,
        [property: JsonPropertyName("bias")] string Bias,
        [property: JsonPropertyName("task_type")] string TaskType);
}
