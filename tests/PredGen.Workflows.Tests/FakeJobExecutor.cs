using System.Collections.Concurrent;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;

namespace PredGen.Workflows.Tests;

/// <summary>Stands in for the TorchSharp worker: a "trained model" is a file, test accuracy is fixed per method
/// (PredGen 0.90, Generator 0.80, Predictor 0.70), MINE answers token 0.60 / pooled 0.40 nats.</summary>
public sealed class FakeJobExecutor(IArtifactStore store) : IJobExecutor
{
    public ConcurrentDictionary<string, int> Executions { get; } = new();
    public HashSet<string> FailingJobs { get; } = [];
    public double ChampionAccuracyOnNewSplit { get; set; } = 0.5;

    public static double AccuracyOf(string method) => method switch { "PredGen" => 0.90, "Generator" => 0.80, _ => 0.70 };

    public async Task<JobCompletion> ExecuteAsync(JobMessage job, CancellationToken cancellationToken)
    {
        Executions.AddOrUpdate(job.JobId, 1, (_, n) => n + 1);
        if (FailingJobs.Contains(job.JobId)) throw new InvalidOperationException("simulated out-of-memory in " + job.JobId);
        var metrics = new Dictionary<string, double>();
        var details = new Dictionary<string, string>();
        switch (job.Kind)
        {
            case JobKind.Train:
                await store.WriteTextAsync(BlobLayout.Combine(BlobLayout.JobModel(job.Task, job.RunId, job.JobId), "config.json"), "{}", cancellationToken);
                metrics["accuracy"] = AccuracyOf(job.Method);
                metrics["macro_f1"] = AccuracyOf(job.Method) - 0.05;
                break;
            case JobKind.Mine:
                metrics["token_estimate_nats"] = 0.6; metrics["token_ci_low"] = 0.55; metrics["token_ci_high"] = 0.65;
                metrics["pooled_estimate_nats"] = 0.4; metrics["pooled_ci_low"] = 0.35; metrics["pooled_ci_high"] = 0.45;
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
