using System.Collections.Concurrent;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;

namespace PredGen.Workflows.Tests;

/// <summary>Stands in for the TorchSharp worker: a "trained model" is a file, test accuracy is fixed per method
/// (PredGen 0.90, Generator 0.80, Predictor 0.70), MINE answers token 0.60 / pooled 0.40 nats, the classical baseline
/// scores <see cref="BaselineAccuracy"/>. A train job's validation score is <see cref="ValidationScore"/> of its
/// settings (default: best at full fine-tuning with lr 1e-3, so the learning-rate trials have one clear winner).</summary>
public sealed class FakeJobExecutor(IArtifactStore store) : IJobExecutor
{
    private int _sequence;

    public ConcurrentDictionary<string, int> Executions { get; } = new();
    public HashSet<string> FailingJobs { get; } = [];

    /// <summary>Job id -> how many more deliveries fail with a transient storage error (503) before the job runs.</summary>
    public ConcurrentDictionary<string, int> TransientFailures { get; } = new();

    /// <summary>How long a job takes once started (default: no time).</summary>
    public Func<JobMessage, TimeSpan> DurationOf { get; set; } = _ => TimeSpan.Zero;
    public double ChampionAccuracyOnNewSplit { get; set; } = 0.5;
    public double BaselineAccuracy { get; set; } = 0.6;

    /// <summary>Every message received, by job id (the last delivery).</summary>
    public ConcurrentDictionary<string, JobMessage> Messages { get; } = new();

    /// <summary>Job id -> (sequence number when it started, when it finished): the order jobs ran in.</summary>
    public ConcurrentDictionary<string, (int Started, int Finished)> Order { get; } = new();

    public Func<JobMessage, double> ValidationScore { get; set; } = DefaultValidationScore;

    public static double DefaultValidationScore(JobMessage job)
    {
        ArgumentNullException.ThrowIfNull(job);
        double lr = job.Settings.LearningRate ?? 2e-4;
        return AccuracyOf(job.Method) - 0.1 * Math.Abs(Math.Log10(lr / 1e-3)) - (job.Settings.UseLora == true ? 0.05 : 0);
    }

    public static double AccuracyOf(string method) => method switch { "PredGen" => 0.90, "Generator" => 0.80, _ => 0.70 };

    public async Task<JobCompletion> ExecuteAsync(JobMessage job, CancellationToken cancellationToken)
    {
        Executions.AddOrUpdate(job.JobId, 1, (_, n) => n + 1);
        Messages[job.JobId] = job;
        int started = Interlocked.Increment(ref _sequence);
        try
        {
            return await RunAsync(job, cancellationToken);
        }
        finally
        {
            Order[job.JobId] = (started, Interlocked.Increment(ref _sequence));
        }
    }

    private async Task<JobCompletion> RunAsync(JobMessage job, CancellationToken cancellationToken)
    {
        if (DurationOf(job) is { } duration && duration > TimeSpan.Zero) await Task.Delay(duration, cancellationToken);
        if (FailingJobs.Contains(job.JobId)) throw new InvalidOperationException("simulated out-of-memory in " + job.JobId);
        if (TransientFailures.TryGetValue(job.JobId, out int left) && left != 0)
        {
            TransientFailures[job.JobId] = left - 1;
            throw new Azure.RequestFailedException(503, "simulated: the storage account is busy (downloading the prepared data of " + job.JobId + ")");
        }
        var metrics = new Dictionary<string, double>();
        var details = new Dictionary<string, string>();
        switch (job.Kind)
        {
            case JobKind.Train:
                await store.WriteTextAsync(BlobLayout.Combine(BlobLayout.JobModel(job.Task, job.RunId, job.JobId), "config.json"), "{}", cancellationToken);
                metrics["accuracy"] = AccuracyOf(job.Method);
                metrics["macro_f1"] = AccuracyOf(job.Method) - 0.05;
                metrics[JobCompletion.ValidationScoreMetric] = ValidationScore(job);
                break;
            case JobKind.Baseline:
                metrics["accuracy"] = BaselineAccuracy;
                metrics["macro_f1"] = BaselineAccuracy - 0.02;
                metrics[JobCompletion.ValidationScoreMetric] = BaselineAccuracy;
                break;
            case JobKind.Mine:
                // As TorchMineAnalysis reports them: token-level not estimable (estimate 0, no interval), pooled estimated.
                metrics["token_estimate_nats"] = 0; metrics["token_estimable"] = 0; metrics["token_rows"] = 48; metrics["token_held_out_rows"] = 10;
                metrics["pooled_estimate_nats"] = 0.4; metrics["pooled_ci_low"] = 0.35; metrics["pooled_ci_high"] = 0.45;
                metrics["pooled_estimable"] = 1; metrics["pooled_rows"] = 1200; metrics["pooled_held_out_rows"] = 240;
                details["bound"] = "dv";
                break;
            case JobKind.Evaluate:
                metrics["accuracy"] = ChampionAccuracyOnNewSplit;
                break;
        }
        return new JobCompletion
        {
            JobId = job.JobId, Kind = job.Kind, Task = job.Task, RunId = job.RunId, NotifyInstanceId = job.NotifyInstanceId,
            Outcome = JobOutcome.Succeeded, Metrics = metrics, Details = details, Seconds = 0.01,
        };
    }
}
