namespace PredGen.Shared.Jobs;

/// <summary>
/// Whether a worker execution may take one more job. A Container Apps job execution is killed at its replicaTimeout;
/// a job taken when less than a job's budget is left would be cut off and delivered again, so the execution exits
/// instead and KEDA starts a fresh one for the waiting message. <see cref="ExecutionTimeout"/> null: no limit (local).
/// </summary>
public sealed record ExecutionBudget(TimeSpan? ExecutionTimeout, TimeSpan JobBudget)
{
    /// <summary>A job's longest run: RetrainRequest.JobTimeoutSeconds' default (the orchestration fails it after that).</summary>
    public static readonly TimeSpan DefaultJobBudget = TimeSpan.FromHours(6);

    public static ExecutionBudget Unlimited { get; } = new(null, DefaultJobBudget);

    public bool CanTakeAnother(TimeSpan elapsed) => ExecutionTimeout is not TimeSpan limit || elapsed + JobBudget <= limit;

    /// <summary>From the settings' values (seconds; empty or null: none / the default).</summary>
    public static ExecutionBudget From(string? executionTimeoutSeconds, string? jobBudgetSeconds)
    {
        static TimeSpan? Seconds(string? text) => string.IsNullOrWhiteSpace(text)
            ? null
            : TimeSpan.FromSeconds(double.Parse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture));
        return new ExecutionBudget(Seconds(executionTimeoutSeconds), Seconds(jobBudgetSeconds) ?? DefaultJobBudget);
    }
}
