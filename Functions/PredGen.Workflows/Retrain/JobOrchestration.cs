using System.Globalization;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Jobs;
using PredGen.Workflows.Activities;

namespace PredGen.Workflows.Retrain;

/// <summary>
/// One job, start to finish: dispatch it, then wait for its completion event (raised by the results-queue trigger or
/// the worker in-process). The wait has a timeout; each time it expires, the job's markers are polled (a completion
/// message may be lost). The job's run timeout counts from its start (the worker's start marker), not from dispatch:
/// jobs queued behind the trainer's parallelism wait up to QueueTimeoutSeconds for a worker without being failed.
/// Past either deadline the job is marked failed. Never throws for a job failure: the Retrain orchestration gets a
/// Failed completion and carries on with the other jobs.
/// </summary>
public sealed partial class JobOrchestration : TaskOrchestrator<JobOrchestrationInput, JobCompletion>
{
    public override async Task<JobCompletion> RunAsync(TaskOrchestrationContext context, JobOrchestrationInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var job = input.Job;
        var log = context.CreateReplaySafeLogger<JobOrchestration>();
        var dispatched = context.CurrentUtcDateTime;
        // Until a worker starts the job, the deadline is the queue's; from its start, the run's.
        DateTime? startedAt = null;
        var deadline = dispatched.AddSeconds(input.QueueTimeoutSeconds);

        JobCompletion? done;
        try
        {
            done = await context.CallActivityAsync<JobCompletion?>(nameof(DispatchJobActivity), job, RetryPolicies.Activity);
        }
        catch (TaskFailedException e)
        {
            return JobHandler.Failed(job, "could not dispatch: " + e.FailureDetails.ErrorMessage);
        }
        if (done != null) return done;
        LogDispatched(log, job.JobId, job.Kind);

        var reference = new JobReference(job.Task, job.RunId, job.JobId);
        while (true)
        {
            var remaining = deadline - context.CurrentUtcDateTime;
            if (remaining <= TimeSpan.Zero)
            {
                if (startedAt is DateTime start)
                {
                    LogTimedOut(log, job.JobId, input.TimeoutSeconds);
                    return JobHandler.Failed(job, string.Create(CultureInfo.InvariantCulture, $"no result within {input.TimeoutSeconds} s of its start"),
                        (context.CurrentUtcDateTime - start).TotalSeconds);
                }
                LogNeverStarted(log, job.JobId, input.QueueTimeoutSeconds);
                return JobHandler.Failed(job, string.Create(CultureInfo.InvariantCulture, $"no worker started it within {input.QueueTimeoutSeconds} s of dispatch"));
            }
            var wait = TimeSpan.FromSeconds(Math.Min(input.PollSeconds, Math.Max(1, remaining.TotalSeconds)));
            try
            {
                return await context.WaitForExternalEvent<JobCompletion>(JobEvents.Completed, wait);
            }
            catch (TaskCanceledException)
            {
                // No event in time: the status poll is the fallback for a lost completion message.
            }
            var polled = await context.CallActivityAsync<JobCompletion?>(nameof(GetJobStatusActivity), reference, RetryPolicies.Activity);
            if (polled != null)
            {
                LogFoundByPoll(log, job.JobId);
                return polled;
            }
            if (startedAt == null)
            {
                // The marker's time comes from the activity's (recorded) result: replay-safe.
                var began = await context.CallActivityAsync<DateTimeOffset?>(nameof(GetJobStartActivity), reference, RetryPolicies.Activity);
                if (began is DateTimeOffset b)
                {
                    startedAt = b.UtcDateTime;
                    deadline = b.UtcDateTime.AddSeconds(input.TimeoutSeconds);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dispatched {Kind} job {JobId}")]
    private static partial void LogDispatched(ILogger logger, string jobId, JobKind kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} gave no result within {Seconds} s of its start; marking it failed")]
    private static partial void LogTimedOut(ILogger logger, string jobId, int seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was not started by any worker within {Seconds} s; marking it failed")]
    private static partial void LogNeverStarted(ILogger logger, string jobId, int seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: completion found by the status poll (its event was not seen)")]
    private static partial void LogFoundByPoll(ILogger logger, string jobId);
}
