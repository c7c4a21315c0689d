using System.Security.Cryptography;
using Microsoft.DurableTask.Client;
using PredGen.Shared.Storage;

namespace PredGen.Workflows.Retrain;

/// <summary>What starting a run did: the instance (new or existing) and whether this call created it.</summary>
public sealed record RetrainStart(string InstanceId, string RunId, bool Started, string? ExistingStatus);

/// <summary>
/// Starts Retrain for an uploaded dataset, once per content: the run id is the SHA-256 of the file's bytes, the
/// instance id is derived from it, and an instance that already exists (any state) is not started again. So a
/// duplicate Event Grid delivery, a re-upload of the same bytes, or a retried HTTP call start nothing new, while a new
/// version of the file (other bytes) starts a new run. Used by the blob trigger, the HTTP endpoint and the CLI.
/// </summary>
public static class RetrainStarter
{
    public static async Task<string> RunIdOfAsync(IArtifactStore store, string datasetPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var artifact = await store.ReadAsync(datasetPath, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"{datasetPath} does not exist in {store.Location}");
        return RetrainRequest.RunIdFromContentHash(SHA256.HashData(artifact.Content.ToMemory().Span));
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
}
