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
/// Retrain: PrepareDataset -> the classical baseline (alongside the rest) -> learning-rate trials (short jobs per method
/// and candidate of the <see cref="TrialGrid"/>, unless the request fixes the learning rate) -> one training job per
/// method and seed at the method's chosen settings (each job a <see cref="JobOrchestration"/>, run side by side) -> one
/// MINE job per trained model, plus the current champion scored on this run's test split -> BuildReport ->
/// PromoteChampion (never the baseline). Deterministic and thin: all I/O is in activities and workers. A failed job is kept (and marked
/// in the report); the run fails only if the dataset is rejected. Progress goes to the custom status.
/// </summary>
public sealed partial class RetrainOrchestration : TaskOrchestrator<RetrainRequest, RetrainResult>
{
    public const string ChampionEvaluationJobId = "champion-eval";
    public const string BaselineJobId = "baseline";

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

        // 2. The classical baseline, alongside everything that follows (seconds of CPU; awaited after training).
        var methods = input.Methods.Select(Methods.Canonical).Distinct().ToList();
        var baselineJob = input.RunBaseline
            ? NewJob(context, input, dataset.Kind, JobKind.Baseline, BaselineJobId, Methods.Baseline, 1, modelPath: null, input.Training)
            : null;
        var baselineRun = baselineJob == null ? null : RunJobAsync(context, input, baselineJob);

        // 3. Learning-rate trials: per method, one short job per candidate of the grid on the same worker; the best
        // validation score picks the settings every seed of that method trains with. A fixed learning rate skips them.
        var grid = input.Trials ?? TrialGrid.Default;
        var candidates = grid.CandidatesFor(input.Training);
        var chosen = new Dictionary<string, TrainingSettings>(StringComparer.Ordinal);
        var trials = new List<TrialSummary>();
        if (candidates.Count > 0 && methods.Count > 0)
        {
            int totalSteps = TrainingDefaults.TotalSteps(input.Training, dataset.TrainRows);
            var trialJobs = new List<(JobMessage Job, TrialCandidate Candidate)>();
            foreach (var method in methods)
                for (int i = 0; i < candidates.Count; i++)
                    trialJobs.Add((NewJob(context, input, dataset.Kind, JobKind.Train,
                        string.Create(CultureInfo.InvariantCulture, $"trial-{method.ToLowerInvariant()}-{i + 1}"), method, 1, modelPath: null,
                        grid.TrialSettings(input.Training, candidates[i], totalSteps)) with { AnswerFormat = dataset.AnswerFormat }, candidates[i]));
            var tried = await RunJobsAsync(context, input, [.. trialJobs.Select(t => t.Job)], RetrainStages.Trials, log);
            foreach (var method in methods)
            {
                var methodTrials = trialJobs.Where(t => t.Job.Method == method).ToList();
                var winner = TrialGrid.Choose(methodTrials.Select(t => new TrialOutcome(t.Candidate, ValidationScoreOf(tried[t.Job.JobId]))));
                if (winner != null) chosen[method] = TrialGrid.Apply(input.Training, winner);
                foreach (var (job, candidate) in methodTrials)
                {
                    var c = tried[job.JobId];
                    trials.Add(new TrialSummary(job.JobId, method, candidate.LearningRate, candidate.UseLora, job.Settings.Steps ?? 0,
                        c.Outcome == JobOutcome.Succeeded ? JobSummary.Succeeded : JobSummary.Failed, c.Error, ValidationScoreOf(c),
                        Chosen: ReferenceEquals(candidate, winner)));
                }
            }
            EndStage(RetrainStages.Trials);
        }

        // 4. Train: one job per method and seed at the method's chosen settings, all dispatched at once.
        var trainJobs = new List<JobMessage>();
        foreach (var method in methods)
            for (int seed = 1; seed <= Math.Max(1, input.Seeds); seed++)
                trainJobs.Add(NewJob(context, input, dataset.Kind, JobKind.Train, string.Create(CultureInfo.InvariantCulture, $"{method.ToLowerInvariant()}-s{seed}"), method, seed,
                    modelPath: null, chosen.GetValueOrDefault(method, input.Training)) with { AnswerFormat = dataset.AnswerFormat });
        var trained = await RunJobsAsync(context, input, trainJobs, RetrainStages.Training, log);
        var jobSummaries = trainJobs.Select(j => Summarize(j, trained[j.JobId])).ToList();
        var baseline = baselineRun == null ? null : Summarize(baselineJob!, await baselineRun);
        EndStage(RetrainStages.Training);

        // 5. Analyse: MINE per trained model, and the current champion scored on this run's test split.
        var champion = await context.CallActivityAsync<ChampionPointer?>(nameof(ReadChampionActivity), input.Task, RetryPolicies.Activity);
        var analysisJobs = new List<JobMessage>();
        if (input.RunMine)
            foreach (var job in jobSummaries.Where(j => j.IsSucceeded))
                analysisJobs.Add(NewJob(context, input, dataset.Kind, JobKind.Mine, "mine-" + job.JobId, job.Method, job.Seed, BlobLayout.JobModel(input.Task, input.RunId, job.JobId))
                    with { SourceJobId = job.JobId });
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

        // 6. Report (with the decision the promotion will apply), 7. Promote.
        var decision = ChampionSelection.Decide(dataset.Kind, jobSummaries, champion, championNow);
        int failed = jobSummaries.Count(j => !j.IsSucceeded);
        context.SetCustomStatus(new RetrainStatus(RetrainStages.Reporting, trainJobs.Count, trainJobs.Count, failed));
        var summary = new RunSummary
        {
            Task = input.Task, RunId = input.RunId, Kind = dataset.Kind, DatasetPath = input.DatasetPath, Dataset = dataset,
            Jobs = jobSummaries, Baseline = baseline, Trials = trials, Mine = mine, Champion = decision, Timings = timings, StartedAt = new DateTimeOffset(startedAt, TimeSpan.Zero),
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
            Dataset = dataset, Jobs = jobSummaries, Baseline = baseline, Trials = trials, Mine = mine, Champion = applied, Report = report,
        };
    }

    private static JobMessage NewJob(TaskOrchestrationContext context, RetrainRequest input, TaskKind taskKind, JobKind kind, string jobId, string method, int seed,
        string? modelPath, TrainingSettings? settings = null) => new()
    {
        TaskKind = taskKind,
        JobId = jobId, Kind = kind, Task = input.Task, RunId = input.RunId, Method = method, Seed = seed,
        NotifyInstanceId = context.InstanceId + ":" + jobId,
        BaseModel = input.BaseModel, ModelPath = modelPath, Settings = settings ?? input.Training,
    };

    /// <summary>One job as a sub-orchestration, without touching the custom status (the baseline runs beside the
    /// stages that report progress). A failure is a Failed completion, not an exception.</summary>
    private static async Task<JobCompletion> RunJobAsync(TaskOrchestrationContext context, RetrainRequest input, JobMessage job)
    {
        try
        {
            return await context.CallSubOrchestratorAsync<JobCompletion>(nameof(JobOrchestration),
                new JobOrchestrationInput(job, input.JobTimeoutSeconds, input.JobPollSeconds, input.JobQueueTimeoutSeconds),
                new SubOrchestrationOptions { InstanceId = job.NotifyInstanceId });
        }
        catch (TaskFailedException e)
        {
            return JobHandler.Failed(job, e.FailureDetails.ErrorMessage);
        }
    }

    private static double? ValidationScoreOf(JobCompletion c) =>
        c.Outcome == JobOutcome.Succeeded && c.Metrics.TryGetValue(JobCompletion.ValidationScoreMetric, out double v) && double.IsFinite(v) ? v : null;

    /// <summary>Runs jobs as sub-orchestrations (instance id = the job's NotifyInstanceId, where its event goes), side by
    /// side, updating "done / total" in the custom status as each one finishes. Failures are results, not exceptions.</summary>
    private static async Task<Dictionary<string, JobCompletion>> RunJobsAsync(TaskOrchestrationContext context, RetrainRequest input,
        List<JobMessage> jobs, string stage, ILogger log)
    {
        var results = new Dictionary<string, JobCompletion>(StringComparer.Ordinal);
        if (jobs.Count == 0) return results;
        var pending = jobs.ToDictionary(
            j => context.CallSubOrchestratorAsync<JobCompletion>(nameof(JobOrchestration),
                new JobOrchestrationInput(j, input.JobTimeoutSeconds, input.JobPollSeconds, input.JobQueueTimeoutSeconds),
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

    /// <summary>A MINE job's estimates per representation (<see cref="MineMetrics"/>), reported against the train job it
    /// analysed, with the bound from Details["bound"].</summary>
    private static IEnumerable<MineSummary> MineSummaries(JobMessage job, JobCompletion c)
    {
        if (c.Outcome != JobOutcome.Succeeded) yield break;
        string trainJobId = job.SourceJobId ?? throw new InvalidOperationException($"MINE job {job.JobId} names no source job");
        string bound = c.Details.GetValueOrDefault("bound") ?? "dv";
        foreach (var e in MineMetrics.FromMetrics(c.Metrics).Estimates)
            yield return new MineSummary(trainJobId, job.Method, e.Representation, e.EstimateNats, e.CiLow ?? e.EstimateNats, e.CiHigh ?? e.EstimateNats, bound,
                e.Estimable, e.Rows, e.HeldOutRows);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: dataset rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string runId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed: {Error}")]
    private static partial void LogJobFailed(ILogger logger, string jobId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} completed: {Succeeded}/{Total} jobs succeeded, promoted: {Promoted}")]
    private static partial void LogCompleted(ILogger logger, string runId, int succeeded, int total, bool promoted);
}
