using System.Text.Json;
using System.Text.Json.Serialization;
using PredGen.Shared.Data;
using PredGen.Training.Model;
using PredGen.Training.Tokenization;

namespace PredGen.Training.Methods;

/// <summary>
/// model_card.json next to the fine-tuned weights: everything serving needs to turn text into the same prompt, decode
/// under the same grammar and map outputs back to labels or values.
/// </summary>
public sealed record ModelCard
{
    public const string FileName = "model_card.json";
    public const string HeadFileName = "head.safetensors";

    [JsonPropertyName("format_version")]
    public int FormatVersion { get; init; } = 1;

    [JsonPropertyName("method")]
    public MethodKind Method { get; init; }

    [JsonPropertyName("task_kind")]
    [JsonConverter(typeof(JsonStringEnumConverter<TaskKind>))]
    public TaskKind TaskKind { get; init; }

    /// <summary>Classification: the label set in head order.</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Regression: how values are written as tokens (Generator, PredGen).</summary>
    [JsonPropertyName("number_format")]
    public NumberFormat? NumberFormat { get; init; }

    /// <summary>Regression heads predict (y − mean)/std; serving denormalises.</summary>
    [JsonPropertyName("target_mean")]
    public double TargetMean { get; init; }

    [JsonPropertyName("target_std")]
    public double TargetStd { get; init; } = 1;

    [JsonPropertyName("prompt")]
    public PromptTemplate Prompt { get; init; } = PromptTemplate.Default;

    [JsonPropertyName("max_prompt_tokens")]
    public int MaxPromptTokens { get; init; } = 256;

    [JsonPropertyName("pooling")]
    public PoolingKind Pooling { get; init; } = PoolingKind.Mean;

    /// <summary>Predictor: linear head or the adapter-sized MLP (width <see cref="AdapterHidden"/>).</summary>
    [JsonPropertyName("predictor_head")]
    public PredictorHeadKind PredictorHead { get; init; } = PredictorHeadKind.Linear;

    /// <summary>PredGen: answer positions the task adapter reads (the longest answer; shorter ones are zero-padded).</summary>
    [JsonPropertyName("answer_positions")]
    public int AnswerPositions { get; init; }

    /// <summary>PredGen: the adapter also reads, before the answer's states, the state at the prompt's last token: the
    /// one that wrote the answer's first token (what a Hugging Face generate() with output_hidden_states reports for
    /// the first generated token, so "the hidden states of the generated tokens" of the reference include it). Without
    /// it the adapter sees the decision between labels only through the states after it. False in cards written before
    /// it existed, which load and serve as they were trained.</summary>
    [JsonPropertyName("adapter_reads_prompt_state")]
    public bool AdapterReadsPromptState { get; init; }

    /// <summary>Positions the task adapter reads: the prompt's last state when <see cref="AdapterReadsPromptState"/>,
    /// then <see cref="AnswerPositions"/> answer states.</summary>
    [JsonIgnore]
    public int AdapterPositions => AnswerPositions + (AdapterReadsPromptState ? 1 : 0);

    [JsonPropertyName("adapter_hidden")]
    public int AdapterHidden { get; init; }

    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; }

    [JsonPropertyName("fine_tuning")]
    public FineTuning FineTuning { get; init; }

    [JsonPropertyName("loss")]
    public LossVariant? Loss { get; init; }

    /// <summary>Where the base checkpoint came from (a folder name or hub id), for the report.</summary>
    [JsonPropertyName("base_model")]
    public string? BaseModel { get; init; }

    [JsonPropertyName("seed")]
    public int Seed { get; init; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Save(string modelDirectory)
    {
        Directory.CreateDirectory(modelDirectory);
        File.WriteAllText(Path.Combine(modelDirectory, FileName), JsonSerializer.Serialize(this, Json));
    }

    public static ModelCard Load(string modelDirectory)
    {
        string path = Path.Combine(modelDirectory, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: not a model written by `predgen train`.", path);
        return JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} is empty");
    }

    /// <summary>The card of a run: the answer format (the preparer's, from <see cref="TrainOptions.AnswerFormat"/>, else
    /// decided over <paramref name="train"/>), the target normalisation, and the method's settings.</summary>
    public static ModelCard For(TrainOptions options, IReadOnlyList<PreparedRow> train, ITextTokenizer tokenizer, LlamaConfig config, string baseModelDir)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(config);
        // The preparer's decision when the pipeline sent one, else the same decision over the training rows.
        var answer = options.AnswerFormat ?? AnswerFormat.Of(options.TaskKind, train, options.MaxDecimals);
        answer.Check(options.TaskKind, train, DatasetSplit.TrainFile);
        IReadOnlyList<string>? labels = null;
        NumberFormat? format = null;
        double mean = 0, std = 1;
        if (options.TaskKind == TaskKind.Classification)
        {
            labels = answer.Labels!;
            if (labels.Count < 2) throw new InvalidDataException($"classification needs at least two labels in {DatasetSplit.TrainFile}; found [{string.Join(", ", labels)}]");
        }
        else
        {
            var values = train.Select(r => r.Value!.Value).ToList();
            format = answer.NumberFormat!;
            mean = values.Average();
            double variance = values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Count);
            std = variance > 1e-12 ? Math.Sqrt(variance) : 1;
        }
        return new ModelCard
        {
            Method = options.Method,
            TaskKind = options.TaskKind,
            Labels = labels,
            NumberFormat = format,
            TargetMean = mean,
            TargetStd = std,
            Prompt = options.Prompt ?? PromptTemplate.Default,
            MaxPromptTokens = options.MaxPromptTokens,
            Pooling = options.Pooling,
            PredictorHead = options.PredictorHead,
            AnswerPositions = options.Method == MethodKind.Predictor ? 0 : MethodNetwork.AnswerPositions(options.TaskKind, labels, format, tokenizer),
            AdapterReadsPromptState = options.Method == MethodKind.PredGen && options.AdapterReadsPromptState,
            AdapterHidden = options.AdapterHidden > 0 ? options.AdapterHidden : config.HiddenSize,
            HiddenSize = config.HiddenSize,
            FineTuning = options.FineTuning,
            Loss = options.Method == MethodKind.PredGen ? options.Loss : null,
            BaseModel = Path.GetFileName(Path.TrimEndingDirectorySeparator(baseModelDir)),
            Seed = options.Seed,
        };
    }
}
