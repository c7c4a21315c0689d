using System.Globalization;
using PredGen.Shared.Data;
using PredGen.Shared.Models;

namespace PredGen.Workflows.Retrain;

/// <summary>
/// Which model serves: the best succeeded job on this run's test split (classification: accuracy; regression: mse),
/// promoted only if it strictly beats the current champion. The champion is scored on the same split (an Evaluate
/// job); only when that evaluation is impossible (say, another label set) is its recorded score used, and a champion
/// whose recorded metric is a different one is replaced. The classical baseline is never a candidate.
/// </summary>
public static class ChampionSelection
{
    public static (string Metric, bool HigherIsBetter) MetricFor(TaskKind kind) =>
        kind == TaskKind.Classification ? ("accuracy", true) : ("mse", false);

    public static ChampionDecision Decide(TaskKind kind, IEnumerable<JobSummary> jobs, ChampionPointer? current, double? currentOnThisSplit)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var (metric, higher) = MetricFor(kind);
        JobSummary? best = null;
        // The classical baseline is the floor the methods are measured against, not a model the endpoint can serve.
        foreach (var job in jobs.Where(j => j.IsSucceeded && !Methods.IsBaseline(j.Method) && j.TestMetrics.ContainsKey(metric)))
            if (best == null || Better(job.TestMetrics[metric], best.TestMetrics[metric], higher)) best = job;

        var decision = new ChampionDecision
        {
            Metric = metric, HigherIsBetter = higher,
            CandidateJobId = best?.JobId, CandidateMethod = best?.Method, CandidateValue = best?.TestMetrics[metric],
            CurrentRunId = current?.RunId, CurrentJobId = current?.JobId, CurrentValue = currentOnThisSplit,
            Reason = "",
        };
        if (best == null) return decision with { Promote = false, Reason = "no job succeeded with a test " + metric };
        double candidate = best.TestMetrics[metric];
        if (current == null) return decision with { Promote = true, Reason = "no champion yet" };
        if (currentOnThisSplit is double now)
        {
            bool wins = Better(candidate, now, higher);
            return decision with
            {
                Promote = wins,
                Reason = string.Create(CultureInfo.InvariantCulture,
                    $"{best.JobId} {metric} {candidate:F4} {(wins ? "beats" : "does not beat")} the champion's {now:F4} on this test split"),
            };
        }
        if (!string.Equals(current.Metric, metric, StringComparison.Ordinal))
            return decision with { Promote = true, Reason = $"the champion is scored on '{current.Metric}', not '{metric}' (another kind of task): replaced" };
        bool beatsRecorded = Better(candidate, current.Value, higher);
        return decision with
        {
            Promote = beatsRecorded,
            Reason = string.Create(CultureInfo.InvariantCulture,
                $"the champion could not be scored on this split; {best.JobId} {metric} {candidate:F4} {(beatsRecorded ? "beats" : "does not beat")} its recorded {current.Value:F4}"),
        };
    }

    private static bool Better(double a, double b, bool higherIsBetter) => higherIsBetter ? a > b : a < b;
}
