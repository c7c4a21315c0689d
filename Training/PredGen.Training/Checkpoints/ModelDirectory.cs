using System.Text.Json;
using System.Text.Json.Nodes;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Checkpoints;

/// <summary>
/// A model directory as Hugging Face lays it out: config.json, model.safetensors (or model-0000N-of-0000M.safetensors
/// shards with model.safetensors.index.json), and the tokenizer files. A real Llama checkpoint directory loads unchanged.
/// </summary>
public static class ModelDirectory
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    public static (LlamaForCausalLM Model, ITextTokenizer Tokenizer) Load(string directory, TorchOptions options)
    {
        var model = LoadModel(directory, options);
        try
        {
            var tokenizer = TokenizerLoader.Load(directory);
            if (tokenizer.VocabSize > model.Config.VocabSize)
                throw new InvalidDataException(
                    $"{directory}: the tokenizer has {tokenizer.VocabSize} ids but config.json's vocab_size is {model.Config.VocabSize}; ids past it have no embedding.");
            return (model, tokenizer);
        }
        catch
        {
            model.Dispose(); // a folder without its tokenizer must not leak the weights already loaded
            throw;
        }
    }

    /// <summary>Builds the model on the CPU, loads and checks every tensor, then moves it to the configured device and dtype (eval mode).</summary>
    public static LlamaForCausalLM LoadModel(string directory, TorchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = LlamaConfig.Load(Path.Combine(directory, ConfigFile));
        var device = TorchRuntime.ResolveDevice(options);
        var dtype = TorchRuntime.ResolveDType(options);
        var model = new LlamaForCausalLM(config);
        try
        {
            LoadWeights(model, directory);
            model.to(dtype);
            model.to(device);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Streams the checkpoint in <paramref name="directory"/> (model.safetensors, or the shards of an index) into the
    /// model's parameters after checking every name and shape against the headers: each tensor goes from the file
    /// into its parameter, so loading needs the model's memory and at most one tensor more, not the whole checkpoint twice.
    /// </summary>
    public static void LoadWeights(LlamaForCausalLM model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        var files = WeightFiles(directory);
        var readers = new List<SafeTensorReader>();
        try
        {
            var located = new Dictionary<string, (SafeTensorReader Reader, SafeTensorEntry Entry)>(StringComparer.Ordinal);
            foreach (var (file, expected) in files)
            {
                var reader = SafeTensorReader.Open(file);
                readers.Add(reader);
                foreach (var entry in reader.Entries)
                {
                    if (expected is not null && (!expected.TryGetValue(entry.Name, out string? shard) || shard != Path.GetFileName(file)))
                        throw new InvalidDataException($"{IndexFile} in {directory} does not place tensor '{entry.Name}' in {Path.GetFileName(file)}, which holds it.");
                    located[entry.Name] = (reader, entry);
                }
            }
            if (files.Count > 0 && files[0].WeightMap is { } indexMap)
            {
                var absent = indexMap.Keys.Where(n => !located.ContainsKey(n)).ToList();
                if (absent.Count > 0)
                    throw new InvalidDataException($"{IndexFile} in {directory} lists tensor '{absent[0]}' (and {absent.Count - 1} more) that no shard holds.");
            }
            var parameters = CheckNamesAndShapes(model, located.ToDictionary(kv => kv.Key, kv => kv.Value.Entry.Shape, StringComparer.Ordinal), directory);
            foreach (var (name, parameter) in parameters)
            {
                var (reader, entry) = located[name];
                reader.ReadInto(entry, parameter);
            }
        }
        finally
        {
            foreach (var reader in readers) reader.Dispose();
        }
    }

    /// <summary>Reads model.safetensors, or every shard named by model.safetensors.index.json. The caller owns the tensors.</summary>
    public static Dictionary<string, Tensor> ReadWeights(string directory)
    {
        var files = WeightFiles(directory);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (file, weightMap) in files)
            {
                string shard = Path.GetFileName(file);
                foreach (var (name, t) in SafeTensors.Read(file))
                {
                    result[name] = t;
                    if (weightMap is not null && (!weightMap.TryGetValue(name, out string? expectedShard) || expectedShard != shard))
                        throw new InvalidDataException($"{IndexFile} in {directory} does not place tensor '{name}' in {shard}, which holds it.");
                }
            }
            if (files.Count > 0 && files[0].WeightMap is { } indexMap)
            {
                var absent = indexMap.Keys.Where(n => !result.ContainsKey(n)).ToList();
                if (absent.Count > 0)
                    throw new InvalidDataException($"{IndexFile} in {directory} lists tensor '{absent[0]}' (and {absent.Count - 1} more) that no shard holds.");
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies checkpoint tensors into the model's parameters (converting dtype and device). Every parameter must be
    /// present with its exact shape, and the checkpoint may hold nothing else: errors name the tensor.
    /// </summary>
    public static void LoadWeights(LlamaForCausalLM model, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        var parameters = CheckNamesAndShapes(model, weights.ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal), source);
        using var _ = no_grad();
        foreach (var (name, parameter) in parameters) parameter.copy_(weights[name]);
    }

    /// <summary>The single file, or each shard of the index in name order with the index's weight map.</summary>
    private static List<(string File, Dictionary<string, string>? WeightMap)> WeightFiles(string directory)
    {
        string single = Path.Combine(directory, WeightsFile);
        string index = Path.Combine(directory, IndexFile);
        if (File.Exists(index))
        {
            var weightMap = ReadIndex(index);
            return weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(shard => (Path.Combine(directory, shard), (Dictionary<string, string>?)weightMap)).ToList();
        }
        if (File.Exists(single)) return [(single, null)];
        throw new FileNotFoundException($"No {WeightsFile} or {IndexFile} in {directory}.");
    }

    private static Dictionary<string, TorchSharp.Modules.Parameter> CheckNamesAndShapes(LlamaForCausalLM model, IReadOnlyDictionary<string, long[]> shapes, string source)
    {
        var parameters = BaseParameters(model);
        foreach (var (name, parameter) in parameters)
        {
            if (!shapes.TryGetValue(name, out var shape))
                throw new InvalidDataException($"Checkpoint {source} is missing tensor '{name}' (expected shape {SafeTensors.Describe(parameter.shape)}).");
            if (!shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException(
                    $"Checkpoint {source}: tensor '{name}' has shape {SafeTensors.Describe(shape)} but the model (config.json) expects {SafeTensors.Describe(parameter.shape)}.");
        }
        foreach (string name in shapes.Keys)
        {
            if (parameters.ContainsKey(name) || IsIgnorable(name, model.Config)) continue;
            throw new InvalidDataException($"Checkpoint {source} has tensor '{name}' that the model does not have (architecture or config.json mismatch).");
        }
        return parameters;
    }

    /// <summary>Writes config.json, the weights (sharded when larger than <paramref name="maxShardBytes"/>) and the tokenizer files.</summary>
    public static void Save(LlamaForCausalLM model, ITextTokenizer tokenizer, string directory, ScalarType? dtype = null, long maxShardBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (Lora.LoraAdapters.HasAdapters(model))
            throw new InvalidOperationException(
                "The model has unmerged LoRA adapters: merge them (LoraAdapters.Merge) to save a full model, or save them alone (LoraAdapters.SaveAdapters).");
        Directory.CreateDirectory(directory);
        var storeAs = dtype ?? model.DType;
        var config = model.Config with { TorchDtype = DTypeConfigName(storeAs) };
        config.Save(Path.Combine(directory, ConfigFile));
        var tensors = BaseParameters(model).ToDictionary(p => p.Key, p => (Tensor)p.Value, StringComparer.Ordinal);
        RemoveWeightFiles(directory);
        WriteWeights(directory, tensors, storeAs, maxShardBytes);
        tokenizer.Save(directory);
    }

    /// <summary>Writes weights as one model.safetensors, or as shards plus an index when <paramref name="maxShardBytes"/> &gt; 0 and exceeded.</summary>
    public static void WriteWeights(string directory, IReadOnlyDictionary<string, Tensor> tensors, ScalarType dtype, long maxShardBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        long BytesOf(Tensor t) => t.NumberOfElements * (t.is_floating_point() ? ElementSize(dtype) : t.ElementSize);
        long total = tensors.Values.Sum(BytesOf);
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (maxShardBytes <= 0 || total <= maxShardBytes)
        {
            SafeTensors.Write(Path.Combine(directory, WeightsFile), tensors, dtype, metadata);
            return;
        }
        var shards = new List<List<string>> { new() };
        long current = 0;
        foreach (string name in tensors.Keys.Order(StringComparer.Ordinal))
        {
            long size = BytesOf(tensors[name]);
            if (current > 0 && current + size > maxShardBytes) { shards.Add([]); current = 0; }
            shards[^1].Add(name);
            current += size;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafeTensors.Write(Path.Combine(directory, file), shards[i].ToDictionary(n => n, n => tensors[n], StringComparer.Ordinal), dtype, metadata);
            foreach (string name in shards[i]) weightMap[name] = file;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(directory, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public static string DTypeConfigName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        _ => throw new NotSupportedException($"Model weights are stored as float32, float16 or bfloat16, not {dtype}."),
    };

    private static int ElementSize(ScalarType dtype) => dtype is ScalarType.Float32 ? 4 : 2;

    private static Dictionary<string, TorchSharp.Modules.Parameter> BaseParameters(LlamaForCausalLM model) =>
        model.named_parameters()
            .Where(p => !Lora.LoraAdapters.IsAdapterParameter(p.name))
            .ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);

    private static bool IsIgnorable(string name, LlamaConfig config) =>
        name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)        // older transformers saved the rotary buffer
        || (config.TieWordEmbeddings && name == "lm_head.weight");            // a tied head is the embedding

    private static Dictionary<string, string> ReadIndex(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        if (!document.RootElement.TryGetProperty("weight_map", out var map))
            throw new InvalidDataException($"{path} has no weight_map.");
        return map.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
    }

    private static void RemoveWeightFiles(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory, "model*.safetensors")) File.Delete(file);
        string index = Path.Combine(directory, IndexFile);
        if (File.Exists(index)) File.Delete(index);
    }
}
