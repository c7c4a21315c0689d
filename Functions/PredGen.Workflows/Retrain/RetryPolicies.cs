using PredGen.Shared.Data;

namespace PredGen.Workflows.Retrain;

/// <summary>Activity retries: exponential backoff for transient storage / queue errors; a rejected dataset is final.</summary>
public static class RetryPolicies
{
    public static TaskOptions Activity { get; } = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 4, firstRetryInterval: TimeSpan.FromSeconds(2), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromMinutes(1))
    {
        HandleFailure = failure => !IsRejection(failure),
    });

    public static bool IsRejection(TaskFailureDetails? failure) =>
        failure != null && (failure.ErrorType == typeof(DatasetRejectedException).FullName || IsRejection(failure.InnerFailure));
}
