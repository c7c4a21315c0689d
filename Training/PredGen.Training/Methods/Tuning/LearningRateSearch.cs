using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;

namespace PredGen.Training.Methods.Tuning;

/// <summary>One short trial of the search: the settings it tried and the validation score it reached.</summary>
public sealed record TrialResult
{
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; }

    [JsonPropertyName("fine_tuning")] public string FineTuning { get; init; } = "";

    [JsonPropertyName("steps")] public int Steps { get; init; }

    /// <summary>Higher is better: accuracy for classes, minus MSE for numbers (<see cref="Metrics.Score"/>).</summary>
    [JsonPropertyName("validation_score")] public double ValidationScore { get; init; }

    [JsonPropertyName("score_name")] public string ScoreName { get; init; } = "";

    [JsonPropertyName("seconds")] public double Seconds { get; init; }

    [JsonPropertyName("chosen")] public bool Chosen { get; init; }
}

/// <summary>
/// Chooses the learning rate and full fine-tuning vs LoRA on the validation split, by short trials of the same method
/// on the same data (the candidates and the trial budget are <see cref="TrialGrid"/>'s, shared with the pipeline's
/// trial jobs). A new data set needs no hand-tuning: the peak learning rate that works differs by more than 10x
/// between methods, base sizes and data sets, and a wrong one leaves a model at the majority class.
/// <para>Each trial writes into its own folder under <c>trials/</c> and is reused when it already finished, so a
/// search interrupted by a crash resumes where it was.</para>
/// </summary>
public static class LearningRateSearch
{
    public const string TrialsDirectoryName = "trials";

    /// <summary>Validation rows a trial scores on: enough to rank candidates, few enough to keep trials short.</summary>
    public const int TrialValidationRows = 256;

    public static (TrainOptions Chosen, IReadOnlyList<TrialResult> Trials) Search(TrainOptions options, string dataDir, string baseModelDir,
        string outDir, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        int totalSteps = Trainer.TotalSteps(options, dataDir);
        var grid = TrialGrid.Default;
        int trialSteps = grid.TrialSteps(totalSteps);
        long parameters = Model.LlamaConfig.Load(Path.Combine(baseModelDir, Checkpoints.ModelDirectory.ConfigFile)).ParameterCount();
        var candidates = grid.CandidatesForBase(parameters);
        var results = new List<TrialResult>();
        foreach (var candidate in candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fineTuning = ModeOf(candidate);
            string name = string.Create(CultureInfo.InvariantCulture, $"{candidate.FineTuning}-lr{candidate.LearningRate:0.######}");
            var trial = options with
            {
                LearningRate = candidate.LearningRate,
                FineTuning = fineTuning,
                MaxSteps = trialSteps,
                EvalEvery = trialSteps,
                EarlyStoppingPatience = 0,
                CheckpointEvery = 0,
                MaxValidationRows = options.MaxValidationRows > 0 ? Math.Min(options.MaxValidationRows, TrialValidationRows) : TrialValidationRows,
                EvaluateTest = false,
                SaveModel = false,
            };
            string trialDir = Path.Combine(outDir, TrialsDirectoryName, name);
            var result = ReadFinished(trialDir) ?? Trainer.Train(trial, dataDir, baseModelDir, trialDir, cancellationToken: cancellationToken);
            var validation = result.Validation ?? throw new InvalidOperationException($"trial {name} reported no validation metrics");
            results.Add(new TrialResult
            {
                LearningRate = candidate.LearningRate, FineTuning = candidate.FineTuning, Steps = result.Steps,
                ValidationScore = validation.Score, ScoreName = validation.ScoreName, Seconds = Math.Round(result.TrainSeconds, 1),
            });
            log?.Report(string.Create(CultureInfo.InvariantCulture,
                $"trial {name}: {trialSteps} steps, validation {validation.ScoreName} {Math.Abs(validation.Score):F4} ({result.TrainSeconds:F0} s)"));
        }
        // The pipeline's rule (ties go to the earlier candidate in grid order), so both hosts choose alike.
        var chosen = TrialGrid.Choose(candidates.Select((c, i) => new TrialOutcome(c, results[i].ValidationScore)))
            ?? throw new InvalidOperationException("no trial produced a validation score");
        int best = candidates.ToList().IndexOf(chosen);
        results[best] = results[best] with { Chosen = true };
        return (options with { LearningRate = chosen.LearningRate, FineTuning = ModeOf(chosen) }, results);
    }

    private static FineTuning ModeOf(TrialCandidate candidate) => FineTuningOf(candidate.UseLora);

    /// <summary>The one mapping of the contract's UseLora flag (<see cref="TrialCandidate.UseLora"/>,
    /// <see cref="TrainingSettings.UseLora"/>) to the trainer's mode.</summary>
    public static FineTuning FineTuningOf(bool useLora) => useLora ? FineTuning.Lora : FineTuning.Full;

    private static TrainResult? ReadFinished(string trialDir)
    {
        string path = Path.Combine(trialDir, Trainer.MetricsFileName);
        if (!File.Exists(path)) return null;
        try
        {
            var result = JsonSerializer.Deserialize<TrainResult>(File.ReadAllText(path), Trainer.JsonOptions);
            return result is { Interrupted: false, Validation: not null } ? result : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
