using PredGen.Shared.Models;
using PredGen.Shared.Storage;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Activities;

/// <summary>The current champion pointer of a task (input: the task name), or null.</summary>
public sealed class ReadChampionActivity(IArtifactStore store) : TaskActivity<string, ChampionPointer?>
{
    public override Task<ChampionPointer?> RunAsync(TaskActivityContext context, string input) => ExecuteAsync(input);

    public async Task<ChampionPointer?> ExecuteAsync(string task, CancellationToken cancellationToken = default)
    {
        var text = await store.ReadTextAsync(BlobLayout.Champion(task), cancellationToken).ConfigureAwait(false);
        return text == null ? null : ChampionPointer.Parse(text);
    }
}

/// <summary>The run's summary and the current champion's score on this run's test split (null if not scored).</summary>
public sealed record PromoteChampionInput(RunSummary Summary, double? ChampionOnThisSplit);

/// <summary>
/// Writes models/{task}/champion.json if this run's best model beats the current champion. Read, decide, write with the
/// ETag read (If-None-Match when there is none): if another run promoted in between, re-read and decide again against
/// the new pointer, so two concurrent runs can never overwrite each other's better model.
/// </summary>
public sealed class PromoteChampionActivity(IArtifactStore store, TimeProvider? clock = null) : TaskActivity<PromoteChampionInput, ChampionDecision>
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public override Task<ChampionDecision> RunAsync(TaskActivityContext context, PromoteChampionInput input) => ExecuteAsync(input);

    public async Task<ChampionDecision> ExecuteAsync(PromoteChampionInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var summary = input.Summary;
        string path = BlobLayout.Champion(summary.Task);
        for (int attempt = 0; ; attempt++)
        {
            var stored = await store.ReadAsync(path, cancellationToken).ConfigureAwait(false);
            var current = stored == null ? null : ChampionPointer.Parse(stored.Content.ToString());
            // The evaluation score belongs to the champion read before the run's analysis stage; a different pointer now
            // means a concurrent promotion, judged on its recorded score.
            double? scored = current != null && current.RunId == summary.Champion?.CurrentRunId && current.JobId == summary.Champion?.CurrentJobId
                ? input.ChampionOnThisSplit : null;
            if (current != null && current.RunId == summary.RunId)
                return ChampionSelection.Decide(summary.Kind, summary.Jobs, null, null) with { Promote = true, Reason = "already promoted by this run" };
            var decision = ChampionSelection.Decide(summary.Kind, summary.Jobs, current, scored);
            if (!decision.Promote) return decision;
            var winner = summary.Jobs.First(j => j.JobId == decision.CandidateJobId);
            var pointer = new ChampionPointer(summary.Task, summary.RunId, winner.JobId, winner.Method,
                BlobLayout.JobModel(summary.Task, summary.RunId, winner.JobId), decision.Metric, decision.CandidateValue!.Value, _clock.GetUtcNow());
            try
            {
                await store.WriteIfMatchAsync(path, BinaryData.FromString(pointer.ToJson()), stored?.ETag, cancellationToken).ConfigureAwait(false);
                return decision;
            }
            catch (ArtifactConflictException) when (attempt < 5)
            {
                // another run promoted meanwhile: decide again against its pointer
            }
        }
    }
}
