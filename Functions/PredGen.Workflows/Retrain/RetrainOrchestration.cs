using System.Globalization;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;
using PredGen.Workflows.Activities;
using PredGen.Workflows.Reporting;

namespace PredGen.Workflows.Retrain;

/// <summary>
/// Retrain: PrepareDataset -> one training job per method and seed (each a <see cref="JobOrchestration"/>, run side by
/// side) -> one MINE job per trained model, plus the current champion scored on this run's test split -> BuildReport
/// -> PromoteChampion. Deterministic and thin: all I/O is in activities and workers. A failed job is kept (and marked
/// in the report); the run fails only if the dataset is rejected. Progress goes to the custom status.
/// </summary>
public sealed partial class RetrainOrchestration : TaskOrchestrator<RetrainRequest, RetrainResult>
{
    public const string ChampionEvaluationJobId = "champion-eval";

    public override async Task<RetrainResult> RunAsync(TaskOrchestrationContext context, RetrainRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<RetrainOrchestration>();
        var startedAt = context.CurrentUtcDateTime;
        var timings = new List<StageTiming>();
        var stageStart = startedAt;
        void EndStage(string stage)
        {
            var now = context.CurrentUtcDateTime;
            timings.Add(new StageTiming(stage, (now - stageStart).TotalSeconds));
            stageStart = now;
        }

        // 1. Prepare
        context.SetCustomStatus(new RetrainStatus(RetrainStages.Preparing, 0, 0, 0));
        PreparedDataset dataset;
        try
        {
            dataset = await context.CallActivityAsync<PreparedDataset>(nameof(PrepareDatasetActivity),
                new PrepareDatasetInput(input.Task, input.RunId, input.DatasetPath, input.Kind), RetryPolicies.Activity);
        }
        catch (TaskFailedException e) when (RetryPolicies.IsRejection(e.FailureDetails))
        {
            context.SetCustomStatus(new RetrainStatus(RetrainStages.Rejected, 0, 0, 0));
            LogRejected(log, input.RunId, e.FailureDetails.ErrorMessage);
            throw new DatasetRejectedException("Dataset rejected: " + e.FailureDetails.ErrorMessage);
        }
        EndStage(RetrainStages.Preparing);

        // 2. Train: one job per method and seed, all dispatched at once; progress as each one finishes.
        var trainJobs = new List<JobMessage>();
        foreach (var method in input.Methods.Select(Methods.Canonical).Distinct())
            for (int seed = 1; seed <= Math.Max(1, input.Seeds); seed++)
                trainJobs.Add(NewJob(context, input, dataset.Kind, JobKind.Train, string.Create(CultureInfo.InvariantCulture, $"{method.ToLowerInvariant()}-s{seed}"), method, seed, modelPath: null));
        var trained = await RunJobsAsync(context, input, trainJobs, RetrainStages.Training, log);
        var jobSummaries = trainJobs.Select(j => Summarize(j, trained[j.JobId])).ToList();
        EndStage(RetrainStages.Training);

        // 3. Analyse: MINE per trained model, and the current champion scored on this run's test split.
        var champion = await context.CallActivityAsync<ChampionPointer?>(nameof(ReadChampionActivity), input.Task, RetryPolicies.Activity);
        var analysisJobs = new List<JobMessage>();
        if (input.RunMine)
            foreach (var job in jobSummaries.Where(j => j.IsSucceeded))
                analysisJobs.Add(NewJob(context, input, dataset.Kind, JobKind.Mine, "mine-" + job.JobId, job.Method, job.Seed, BlobLayout.JobModel(input.Task, input.RunId, job.JobId)));
        if (champion != null && jobSummaries.Any(j => j.IsSucceeded))
            analysisJobs.Add(NewJob(context, input, dataset.Kind, JobKind.Evaluate, ChampionEvaluationJobId, champion.Method, 0, champion.ModelPath));
        var analysed = await RunJobsAsync(context, input, analysisJobs, RetrainStages.Analysing, log);
        var mine = analysisJobs.Where(j => j.Kind == JobKind.Mine).SelectMany(j => MineSummaries(j, analysed[j.JobId])).ToList();
        double? championNow = null;
        if (analysed.TryGetValue(ChampionEvaluationJobId, out var eval) && eval.Outcome == JobOutcome.Succeeded)
        {
            var (metric, _) = ChampionSelection.MetricFor(dataset.Kind);
            if (eval.Metrics.TryGetValue(metric, out var value)) championNow = value;
        }
        EndStage(RetrainStages.Analysing);

        // 4. Report (with the decision the promotion will apply), 5. Promote.
        var decision = ChampionSelection.Decide(dataset.Kind, jobSummaries, champion, championNow);
        int failed = jobSummaries.Count(j => !j.IsSucceeded);
        context.SetCustomStatus(new RetrainStatus(RetrainStages.Reporting, trainJobs.Count, trainJobs.Count, failed));
        var summary = new RunSummary
        {
            Task = input.Task, RunId = input.RunId, Kind = dataset.Kind, DatasetPath = input.DatasetPath, Dataset = dataset,
            Jobs = jobSummaries, Mine = mine, Champion = decision, Timings = timings, StartedAt = new DateTimeOffset(startedAt, TimeSpan.Zero),
            BaseModel = input.BaseModel, Training = input.Training,
        };
        var report = await context.CallActivityAsync<ReportLinks>(nameof(BuildReportActivity), summary, RetryPolicies.Activity);
        EndStage(RetrainStages.Reporting);

        context.SetCustomStatus(new RetrainStatus(RetrainStages.Promoting, trainJobs.Count, trainJobs.Count, failed));
        var applied = await context.CallActivityAsync<ChampionDecision>(nameof(PromoteChampionActivity),
            new PromoteChampionInput(summary with { Timings = [] }, championNow), RetryPolicies.Activity);
        EndStage(RetrainStages.Promoting);

        context.SetCustomStatus(new RetrainStatus(RetrainStages.Completed, trainJobs.Count, trainJobs.Count, failed));
        LogCompleted(log, input.RunId, trainJobs.Count - failed, trainJobs.Count, applied.Promote);
        return new RetrainResult
        {
            Task = input.Task, RunId = input.RunId, Outcome = failed == 0 ? "completed" : "completed_with_failures",
            Dataset = dataset, Jobs = jobSummaries, Mine = mine, Champion = applied, Report = report,
        };
    }

    private static JobMessage NewJob(TaskOrchestrationContext context, RetrainRequest input, TaskKind taskKind, JobKind kind, string jobId, string method, int seed, string? modelPath) => new()
    {
        TaskKind = taskKind,
        JobId = jobId, Kind = kind, Task = input.Task, RunId = input.RunId, Method = method, Seed = seed,
        NotifyInstanceId = context.InstanceId + ":" + jobId,
        BaseModel = input.BaseModel, ModelPath = modelPath, Settings = input.Training,
    };

    /// <summary>Runs jobs as sub-orchestrations (instance id = the job's NotifyInstanceId, where its event goes), side by
    /// side, updating "done / total" in the custom status as each one finishes. Failures are results, not exceptions.</summary>
    private static async Task<Dictionary<string, JobCompletion>> RunJobsAsync(TaskOrchestrationContext context, RetrainRequest input,
        List<JobMessage> jobs, string stage, ILogger log)
    {
        var results = new Dictionary<string, JobCompletion>(StringComparer.Ordinal);
        if (jobs.Count == 0) return results;
        var pending = jobs.ToDictionary(
            j => context.CallSubOrchestratorAsync<JobCompletion>(nameof(JobOrchestration),
                new JobOrchestrationInput(j, input.JobTimeoutSeconds, input.JobPollSeconds),
                new SubOrchestrationOptions { InstanceId = j.NotifyInstanceId }),
            j => j);
        int failed = 0;
        context.SetCustomStatus(new RetrainStatus(stage, 0, jobs.Count, 0));
        while (pending.Count > 0)
        {
            var finished = await Task.WhenAny(pending.Keys);
            var job = pending[finished];
            pending.Remove(finished);
            JobCompletion completion;
            try
            {
                completion = await finished;
            }
            catch (TaskFailedException e)
            {
                completion = JobHandler.Failed(job, e.FailureDetails.ErrorMessage);
            }
            results[job.JobId] = completion;
            if (completion.Outcome != JobOutcome.Succeeded)
            {
                failed++;
                LogJobFailed(log, job.JobId, completion.Error ?? "");
            }
            context.SetCustomStatus(new RetrainStatus(stage, results.Count, jobs.Count, failed));
        }
        return results;
    }

    private static JobSummary Summarize(JobMessage job, JobCompletion c) => new(
        job.JobId, job.Method, job.Seed,
        c.Outcome == JobOutcome.Succeeded ? JobSummary.Succeeded : JobSummary.Failed, c.Error,
        c.Metrics, c.Seconds, BlobLayout.Job(job.Task, job.RunId, job.JobId), c.ResumedFromStep);

    /// <summary>A MINE job reports "{representation}_estimate_nats", "_ci_low", "_ci_high" per representation it
    /// estimated (token, pooled), and the bound in Details["bound"].</summary>
    private static IEnumerable<MineSummary> MineSummaries(JobMessage job, JobCompletion c)
    {
        if (c.Outcome != JobOutcome.Succeeded) yield break;
        string trainJobId = job.JobId["mine-".Length..];
        string bound = c.Details.GetValueOrDefault("bound") ?? "dv";
        foreach (var representation in new[] { "token", "pooled" })
            if (c.Metrics.TryGetValue(representation + "_estimate_nats", out var estimate))
                yield return new MineSummary(trainJobId, job.Method, representation, estimate,
                    c.Metrics.GetValueOrDefault(representation + "_ci_low", estimate), c.Metrics.GetValueOrDefault(representation + "_ci_high", estimate), bound);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: dataset rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string runId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed: {Error}")]
    private static partial void LogJobFailed(ILogger logger, string jobId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} completed: {Succeeded}/{Total} jobs succeeded, promoted: {Promoted}")]
    private static partial void LogCompleted(ILogger logger, string runId, int succeeded, int total, bool promoted);
}
