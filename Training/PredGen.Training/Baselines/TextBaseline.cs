using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Text;
using PredGen.Shared.Data;
using PredGen.Training.Methods;

namespace PredGen.Training.Baselines;

/// <summary>
/// What the classical baseline does: word n-grams (1..<see cref="WordNgramLength"/>) and character n-grams
/// (1..<see cref="CharNgramLength"/>) weighted by TF-IDF and L2-normalised, then a linear model whose L2 weight is
/// chosen on the validation split from <see cref="ClassificationL2Grid"/> (multiclass logistic regression, L-BFGS
/// maximum entropy) or <see cref="RegressionL2Grid"/> (SDCA least squares: ridge regression on a standardised target).
/// </summary>
public sealed record BaselineOptions
{
    public TaskKind TaskKind { get; init; } = TaskKind.Classification;

    /// <summary>ML.NET's context seed (SDCA's example order); single-threaded training keeps a run reproducible.</summary>
    public int Seed { get; init; } = 1;

    public int WordNgramLength { get; init; } = 2;

    /// <summary>1..4 characters: long enough for affixes and vowel clusters (syllables), short enough to stay dense.</summary>
    public int CharNgramLength { get; init; } = 4;

    /// <summary>Strongest first: on a tie of validation scores the stronger regularisation is kept (the simpler model).
    /// The weak ends matter: on the demo spam and syllables splits validation kept improving down to 1e-3 / 1e-4.</summary>
    public IReadOnlyList<double> ClassificationL2Grid { get; init; } = [1, 0.1, 0.01, 0.001, 0.0001];

    public IReadOnlyList<double> RegressionL2Grid { get; init; } = [0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6];

    public IReadOnlyList<double> Grid => TaskKind == TaskKind.Classification ? ClassificationL2Grid : RegressionL2Grid;
}

/// <summary>One regularisation weight of the grid and its validation score (higher is better: <see cref="Metrics.Score"/>).</summary>
public sealed record BaselineGridPoint(
    [property: JsonPropertyName("l2")] double L2,
    [property: JsonPropertyName("validation_score")] double ValidationScore);

/// <summary>What <see cref="TextBaseline.Run"/> returns; written as outDir/metrics.json with the trainer's field names
/// (method, test, validation, train_seconds, settings) so every reader of a job's metrics reads it unchanged.</summary>
public sealed record BaselineResult
{
    [JsonPropertyName("method")]
    public string Method { get; init; } = TextBaseline.MethodName;

    /// <summary>What the baseline is, in words (the report and bench paper show it).</summary>
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("test")]
    public required Metrics Test { get; init; }

    [JsonPropertyName("validation")]
    public required Metrics Validation { get; init; }

    [JsonPropertyName("chosen_l2")]
    public double ChosenL2 { get; init; }

    [JsonPropertyName("grid")]
    public required IReadOnlyList<BaselineGridPoint> Grid { get; init; }

    [JsonPropertyName("train_seconds")]
    public double TrainSeconds { get; init; }

    [JsonPropertyName("settings")]
    public required BaselineOptions Settings { get; init; }
}

/// <summary>
/// The classical floor of every run (issue 19): a TF-IDF n-gram linear model trained on the same prepared train split
/// the language-model methods fine-tune on, its regularisation chosen on the same validation split, and scored on the
/// same test split with the same metric code (<see cref="Evaluation.Score"/>). A fine-tuned LM that does not beat it
/// has learnt nothing a bag of n-grams could not. Writes metrics.json, test_predictions.jsonl (the trainer's formats)
/// and model.zip (ML.NET) into outDir; it is never promoted or served.
/// </summary>
public static class TextBaseline
{
    public const string MethodName = "baseline";
    public const string ModelFileName = "model.zip";

    private const string Features = "Features";
    private const string LabelKey = "LabelKey";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static BaselineResult Run(BaselineOptions options, string dataDir, string outDir, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Grid.Count == 0) throw new ArgumentException("the regularisation grid is empty", nameof(options));
        var clock = Stopwatch.StartNew();
        // The trainer's split rules: train is required, a missing validation split falls back to train, a missing
        // test split to validation.
        var train = TrainingData.ReadSplit(dataDir, DatasetSplit.Train, options.TaskKind, required: true);
        var validation = TrainingData.ReadSplit(dataDir, DatasetSplit.Validation, options.TaskKind, required: false);
        var test = TrainingData.ReadSplit(dataDir, DatasetSplit.Test, options.TaskKind, required: false);
        if (validation.Count == 0) validation = train;
        if (test.Count == 0) test = validation;
        bool classification = options.TaskKind == TaskKind.Classification;
        if (classification && train.Select(r => r.Label).Distinct(StringComparer.Ordinal).Count() < 2)
            throw new InvalidDataException($"classification needs at least two labels in {DatasetSplit.TrainFile}");

        var ml = new MLContext(seed: options.Seed);
        // Regression: SDCA fits the intercept like any other weight, so a target such as a year (mean ~1900) is
        // standardised first; predictions are mapped back.
        double mean = 0, std = 1;
        if (!classification)
        {
            var values = train.Select(r => r.Value!.Value).ToList();
            mean = values.Average();
            double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Count;
            std = variance > 1e-12 ? Math.Sqrt(variance) : 1;
        }
        bool pairs = train.Concat(validation).Concat(test).Any(r => r.TextB != null);
        var trainView = ml.Data.LoadFromEnumerable(ToInputs(train, mean, std));
        var featurizer = Featurizer(ml, options, pairs, classification).Fit(trainView);
        var trainFeatures = ml.Data.Cache(featurizer.Transform(trainView));
        var validationFeatures = featurizer.Transform(ml.Data.LoadFromEnumerable(ToInputs(validation, mean, std)));
        var testFeatures = featurizer.Transform(ml.Data.LoadFromEnumerable(ToInputs(test, mean, std)));
        string[] labels = [];
        if (classification)
        {
            VBuffer<ReadOnlyMemory<char>> keys = default;
            trainFeatures.Schema[LabelKey].GetKeyValues(ref keys);
            labels = [.. keys.DenseValues().Select(k => k.ToString())];
        }

        var grid = new List<BaselineGridPoint>();
        ITransformer? best = null;
        Metrics? bestValidation = null;
        double bestL2 = double.NaN;
        foreach (double l2 in options.Grid)
        {
            var model = Fit(ml, classification, l2, trainFeatures);
            var scored = Evaluation.Score(options.TaskKind, validation, Predict(ml, model, validationFeatures, classification, labels, mean, std));
            grid.Add(new BaselineGridPoint(l2, scored.Score));
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline l2 {l2:G3}: validation {scored.ScoreName} {(classification ? scored.Accuracy : scored.Mse):F4}"));
            if (bestValidation == null || scored.Score > bestValidation.Score)
            {
                best = model;
                bestValidation = scored;
                bestL2 = l2;
            }
        }

        var testPredictions = Predict(ml, best!, testFeatures, classification, labels, mean, std);
        var testMetrics = Evaluation.Score(options.TaskKind, test, testPredictions);
        Directory.CreateDirectory(outDir);
        Evaluation.WritePredictions(Path.Combine(outDir, Trainer.TestPredictionsFileName), test, testPredictions);
        ml.Model.Save(featurizer.Append(best!), trainView.Schema, Path.Combine(outDir, ModelFileName));

        var result = new BaselineResult
        {
            Model = Describe(options, pairs),
            Test = testMetrics,
            Validation = bestValidation!,
            ChosenL2 = bestL2,
            Grid = grid,
            TrainSeconds = clock.Elapsed.TotalSeconds,
            Settings = options,
        };
        File.WriteAllText(Path.Combine(outDir, Trainer.MetricsFileName), JsonSerializer.Serialize(result, Json));
        return result;
    }

    public static string Describe(BaselineOptions options, bool pairs = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        string model = options.TaskKind == TaskKind.Classification
            ? "multiclass logistic regression (L-BFGS maximum entropy)"
            : "ridge regression (SDCA least squares)";
        return string.Create(CultureInfo.InvariantCulture,
            $"TF-IDF word 1-{options.WordNgramLength}-grams + character 1-{options.CharNgramLength}-grams{(pairs ? " per text of the pair" : "")}, L2-normalised; {model}, L2 chosen on validation");
    }

    private static IEstimator<ITransformer> Featurizer(MLContext ml, BaselineOptions options, bool pairs, bool classification)
    {
        TextFeaturizingEstimator.Options Text() => new()
        {
            CaseMode = TextNormalizingEstimator.CaseMode.Lower,
            KeepDiacritics = false,
            KeepPunctuations = true,
            KeepNumbers = true,
            WordFeatureExtractor = new WordBagEstimator.Options
            {
                NgramLength = options.WordNgramLength, UseAllLengths = true, Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf,
            },
            CharFeatureExtractor = new WordBagEstimator.Options
            {
                NgramLength = options.CharNgramLength, UseAllLengths = true, Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf,
            },
            Norm = TextFeaturizingEstimator.NormFunction.L2,
        };
        IEstimator<ITransformer> chain = pairs
            // A pair keeps its sides apart: "not" in the premise and in the hypothesis are different features.
            ? ml.Transforms.Text.FeaturizeText("FeaturesA", Text(), nameof(BaselineInput.Text))
                .Append(ml.Transforms.Text.FeaturizeText("FeaturesB", Text(), nameof(BaselineInput.TextB)))
                .Append(ml.Transforms.Concatenate(Features, "FeaturesA", "FeaturesB"))
            : ml.Transforms.Text.FeaturizeText(Features, Text(), nameof(BaselineInput.Text));
        if (classification)
            chain = chain.Append(ml.Transforms.Conversion.MapValueToKey(LabelKey, nameof(BaselineInput.Label), keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue));
        return chain;
    }

    private static ITransformer Fit(MLContext ml, bool classification, double l2, IDataView data) => classification
        ? ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
        {
            LabelColumnName = LabelKey, FeatureColumnName = Features, L1Regularization = 0, L2Regularization = (float)l2, NumberOfThreads = 1,
        }).Fit(data)
        : ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
        {
            LabelColumnName = nameof(BaselineInput.Target), FeatureColumnName = Features, L1Regularization = 0, L2Regularization = (float)l2,
            NumberOfThreads = 1, MaximumNumberOfIterations = 200,
        }).Fit(data);

    private static List<Prediction> Predict(MLContext ml, ITransformer model, IDataView features, bool classification, string[] labels, double mean, double std)
    {
        var scored = model.Transform(features);
        if (!classification)
            return [.. ml.Data.CreateEnumerable<RegressionOutput>(scored, reuseRowObject: false).Select(o => new Prediction(null, mean + std * o.Score, null, null))];
        var predictions = new List<Prediction>();
        foreach (var o in ml.Data.CreateEnumerable<ClassificationOutput>(scored, reuseRowObject: false))
        {
            // Score holds the class probabilities in key order, which is the labels' order (ByValue).
            var probabilities = new Dictionary<string, double>(StringComparer.Ordinal);
            int argmax = 0;
            for (int k = 0; k < labels.Length; k++)
            {
                probabilities[labels[k]] = o.Score[k];
                if (o.Score[k] > o.Score[argmax]) argmax = k;
            }
            predictions.Add(new Prediction(labels[argmax], null, probabilities, null));
        }
        return predictions;
    }

    private static IEnumerable<BaselineInput> ToInputs(IEnumerable<PreparedRow> rows, double mean, double std) =>
        rows.Select(r => new BaselineInput
        {
            Text = r.Text,
            TextB = r.TextB ?? "",
            Label = r.Label ?? "",
            Target = r.Value is double v ? (float)((v - mean) / std) : 0f,
        });

    // ML.NET binds columns to these by property name.
#pragma warning disable CA1812 // instantiated by ML.NET through reflection
    private sealed class BaselineInput
    {
        public string Text { get; set; } = "";
        public string TextB { get; set; } = "";
        public string Label { get; set; } = "";
        public float Target { get; set; }
    }

    private sealed class ClassificationOutput
    {
        public float[] Score { get; set; } = [];
    }

    private sealed class RegressionOutput
    {
        public float Score { get; set; }
    }
#pragma warning restore CA1812
}
