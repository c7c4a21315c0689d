using System.Globalization;
using PredGen.Shared.Configuration;
using PredGen.Shared.Jobs;

namespace PredGen.Workflows.Retrain;

/// <summary>What a run triggered by an upload trains (settings Retrain:Methods, Retrain:Seeds, Retrain:Steps,
/// Retrain:BaseModel; all optional).</summary>
public sealed record RetrainDefaults
{
    public IReadOnlyList<string> Methods { get; init; } = Retrain.Methods.All;
    public int Seeds { get; init; } = 1;
    public string? BaseModel { get; init; }
    public TrainingSettings Training { get; init; } = new();
    public int JobTimeoutSeconds { get; init; } = 6 * 3600;
    public int JobPollSeconds { get; init; } = 300;

    public RetrainRequest ToRequest(string task, string datasetPath, string runId) => new()
    {
        Task = task, DatasetPath = datasetPath, RunId = runId, Methods = Methods, Seeds = Seeds, BaseModel = BaseModel,
        Training = Training, JobTimeoutSeconds = JobTimeoutSeconds, JobPollSeconds = JobPollSeconds,
    };

    /// <summary>From configuration values (null or empty: the default).</summary>
    public static RetrainDefaults From(Func<string, string?> setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        var d = new RetrainDefaults();
        if (setting(SettingNames.RetrainMethods) is { Length: > 0 } methods)
            d = d with { Methods = [.. methods.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Retrain.Methods.Canonical)] };
        if (setting(SettingNames.RetrainSeeds) is { Length: > 0 } seeds) d = d with { Seeds = int.Parse(seeds, CultureInfo.InvariantCulture) };
        if (setting(SettingNames.RetrainSteps) is { Length: > 0 } steps) d = d with { Training = d.Training with { Steps = int.Parse(steps, CultureInfo.InvariantCulture) } };
        if (setting(SettingNames.RetrainBaseModel) is { Length: > 0 } baseModel) d = d with { BaseModel = baseModel };
        return d;
    }
}
