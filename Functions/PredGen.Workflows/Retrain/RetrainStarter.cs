using System.Security.Cryptography;
using Microsoft.DurableTask.Client;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;

namespace PredGen.Workflows.Retrain;

/// <summary>What starting a run did: the instance (new or existing) and whether this call created it.</summary>
public sealed record RetrainStart(string InstanceId, string RunId, bool Started, string? ExistingStatus);

/// <summary>What a retry did: whether the run was started again, the status it had, and how many failed jobs will
/// run again (jobs that succeeded keep their results and are not trained twice).</summary>
public sealed record RetrainRetry(string InstanceId, bool Restarted, string Status, int FailedJobsCleared, string? Reason = null);

/// <summary>
/// Starts Retrain for an uploaded dataset, once per content: the run id is the SHA-256 of the file's bytes, the
/// instance id is derived from it, and an instance that already exists (any state) is not started again. So a
/// duplicate Event Grid delivery, a re-upload of the same bytes, or a retried HTTP call start nothing new, while a new
/// version of the file (other bytes) starts a new run. Used by the blob trigger, the HTTP endpoint and the CLI.
/// A run that failed is started again only on request (<see cref="RetryFailedAsync"/>, the RetryRun endpoint).
/// </summary>
public static class RetrainStarter
{
    public static async Task<string> RunIdOfAsync(IArtifactStore store, string datasetPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        // Hashed as it streams: a dataset of gigabytes never sits in the Functions app's memory.
        var content = await store.OpenReadAsync(datasetPath, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"{datasetPath} does not exist in {store.Location}");
        await using (content.ConfigureAwait(false))
            return await RunIdOfAsync(content, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<string> RunIdOfAsync(Stream content, CancellationToken cancellationToken = default) =>
        RetrainRequest.RunIdFromContentHash(await SHA256.HashDataAsync(content, cancellationToken).ConfigureAwait(false));

    public static async Task<RetrainStart> StartAsync(DurableTaskClient client, RetrainRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        string id = RetrainRequest.InstanceIdFor(request.Task, request.RunId);
        var existing = await client.GetInstanceAsync(id, cancellationToken).ConfigureAwait(false);
        if (existing != null) return new RetrainStart(id, request.RunId, false, existing.RuntimeStatus.ToString());
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(nameof(RetrainOrchestration), request, new StartOrchestrationOptions(id), cancellationToken).ConfigureAwait(false);
            return new RetrainStart(id, request.RunId, true, null);
        }
#pragma warning disable CA1031 // backends differ in what they throw for an existing id; the re-read below decides
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            // Two deliveries raced past the check: the loser sees the winner's instance.
            existing = await client.GetInstanceAsync(id, cancellationToken).ConfigureAwait(false);
            if (existing == null) throw;
            return new RetrainStart(id, request.RunId, false, existing.RuntimeStatus.ToString());
        }
    }

    /// <summary>
    /// Starts a failed run again (Failed, Terminated, or Completed with failed jobs), under the same instance id and with the same request: a second upload
    /// of the same bytes is a no-op forever, so this is the way to retry. Failed jobs' result markers are deleted
    /// first (a marker makes a job "done": the worker would re-report the failure instead of running it); succeeded
    /// jobs keep theirs and are picked up, not retrained. The old history (the run and its job sub-orchestrations,
    /// instance ids "{run}:{job}") is purged so the same ids can be scheduled again.
    /// </summary>
    /// <returns>null when no such run exists.</returns>
    public static async Task<RetrainRetry?> RetryFailedAsync(DurableTaskClient client, IArtifactStore store, string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(store);
        var run = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (run == null || run.Name != nameof(RetrainOrchestration)) return null;
        string status = run.RuntimeStatus.ToString();
        bool retryable = run.RuntimeStatus switch
        {
            OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated => true,
            // Completed, but some jobs failed (a GPU out of memory, a preempted replica): their retry is worth it.
            OrchestrationRuntimeStatus.Completed => run.ReadOutputAs<RetrainResult>()?.Outcome is { } outcome && outcome != "completed", // RetrainResult.Outcome
            _ => false,
        };
        if (!retryable)
            return new RetrainRetry(instanceId, false, status, 0, "only a failed run (Failed, Terminated, or completed with failed jobs) can be retried");
        var request = run.ReadInputAs<RetrainRequest>()
            ?? throw new InvalidOperationException($"Run {instanceId} has no readable request.");

        var jobRuns = new List<OrchestrationMetadata>();
        await foreach (var job in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = instanceId + ":" }).WithCancellation(cancellationToken).ConfigureAwait(false))
            jobRuns.Add(job);
        if (jobRuns.Any(j => !j.IsCompleted))
            return new RetrainRetry(instanceId, false, status, 0, "some of its jobs are still running; retry when they finish");

        int cleared = 0;
        foreach (string path in await store.ListAsync(BlobLayout.Run(request.Task, request.RunId) + "/jobs/", cancellationToken).ConfigureAwait(false))
        {
            if (!path.EndsWith("/result.json", StringComparison.Ordinal)) continue;
            string? text = await store.ReadTextAsync(path, cancellationToken).ConfigureAwait(false);
            if (text == null || JobCompletion.Parse(text).Outcome != JobOutcome.Failed) continue;
            await store.DeleteAsync(path, cancellationToken).ConfigureAwait(false);
            cleared++;
        }

        foreach (var job in jobRuns) await client.PurgeInstanceAsync(job.InstanceId, cancellationToken).ConfigureAwait(false);
        await client.PurgeInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
        await client.ScheduleNewOrchestrationInstanceAsync(nameof(RetrainOrchestration), request, new StartOrchestrationOptions(instanceId), cancellationToken).ConfigureAwait(false);
        return new RetrainRetry(instanceId, true, status, cleared);
    }
}
