using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;
using PredGen.Workflows.Activities;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows.Tests;

public sealed class JobHandlingTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-jobs-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FileSystemArtifactStore _store;

    public JobHandlingTests() => _store = new FileSystemArtifactStore(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static JobMessage Job(string id = "predgen-s1") => new()
    {
        JobId = id, Kind = JobKind.Train, Task = "sentiment", RunId = "run1", NotifyInstanceId = "retrain-sentiment-run1:" + id, Method = "PredGen", Seed = 1,
    };

    [Fact]
    public async Task A_job_delivered_twice_runs_once_and_is_reported_twice()
    {
        var executor = new FakeJobExecutor(_store);
        var reported = new List<JobCompletion>();
        var handler = new JobHandler(_store, executor, new CallbackCompletionSink((c, _) => { reported.Add(c); return Task.CompletedTask; }));

        var first = await handler.HandleAsync(Job(), CancellationToken.None);
        var second = await handler.HandleAsync(Job(), CancellationToken.None);

        Assert.Equal(1, executor.Executions["predgen-s1"]);
        Assert.Equal(2, reported.Count);
        Assert.Equal(first.Metrics["accuracy"], second.Metrics["accuracy"]);
        Assert.True(await _store.ExistsAsync(BlobLayout.JobResult("sentiment", "run1", "predgen-s1")));
    }

    [Fact]
    public async Task A_failing_job_becomes_a_failed_result_not_an_exception()
    {
        var executor = new FakeJobExecutor(_store);
        executor.FailingJobs.Add("predgen-s1");
        var handler = new JobHandler(_store, executor, new CallbackCompletionSink((_, _) => Task.CompletedTask));

        var result = await handler.HandleAsync(Job(), CancellationToken.None);

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Equal("InvalidOperationException: simulated out-of-memory in predgen-s1", result.Error);
    }

    private static readonly TransientRetry Quick = new() { Attempts = 4, FirstDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5) };

    [Fact]
    public async Task A_brief_storage_error_in_the_job_is_retried_with_backoff_and_the_job_succeeds()
    {
        var executor = new FakeJobExecutor(_store);
        executor.TransientFailures["predgen-s1"] = 2; // 503 twice (the prepared data could not be read), then the storage is back
        var reported = new List<JobCompletion>();
        var handler = new JobHandler(_store, executor, new CallbackCompletionSink((c, _) => { reported.Add(c); return Task.CompletedTask; }), retry: Quick);

        var result = await handler.HandleAsync(Job(), CancellationToken.None);

        Assert.Equal((JobOutcome.Succeeded, null), (result.Outcome, result.Error));
        Assert.Equal(3, executor.Executions["predgen-s1"]);
        Assert.Equal(JobOutcome.Succeeded, JobCompletion.Parse((await _store.ReadTextAsync(BlobLayout.JobResult("sentiment", "run1", "predgen-s1")))!).Outcome);
        Assert.Equal(JobOutcome.Succeeded, Assert.Single(reported).Outcome);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Transient_storage_errors_around_the_job_are_retried_not_turned_into_a_failed_job(int status)
    {
        var store = new FaultyStore(_store);
        string marker = BlobLayout.JobResult("sentiment", "run1", "predgen-s1");
        // The first read of the result marker, the start marker's write and the result's conditional write each fail once.
        var failOnce = new HashSet<(string, string)> { ("ReadAsync", marker), ("WriteAsync", BlobLayout.JobStarted("sentiment", "run1", "predgen-s1")), ("WriteIfMatchAsync", marker) };
        store.Fault = (op, path) => failOnce.Remove((op, path)) ? new Azure.RequestFailedException(status, $"simulated {status} on {path}") : null;
        int reports = 0;
        var handler = new JobHandler(store, new FakeJobExecutor(_store), new CallbackCompletionSink((_, _) =>
            ++reports == 1 ? throw new TimeoutException("the results queue did not answer") : Task.CompletedTask), retry: Quick);

        var result = await handler.HandleAsync(Job(), CancellationToken.None);

        Assert.Empty(failOnce);
        Assert.Equal(JobOutcome.Succeeded, result.Outcome);
        Assert.Equal(2, reports);
    }

    [Fact]
    public async Task Storage_that_stays_unavailable_leaves_the_job_for_redelivery_with_no_failed_marker()
    {
        var executor = new FakeJobExecutor(_store);
        executor.TransientFailures["predgen-s1"] = -1; // every attempt
        var handler = new JobHandler(_store, executor, new CallbackCompletionSink((_, _) => Task.CompletedTask), retry: Quick);

        var error = await Assert.ThrowsAsync<Azure.RequestFailedException>(() => handler.HandleAsync(Job(), CancellationToken.None));

        Assert.Equal(503, error.Status);
        Assert.Equal(4, executor.Executions["predgen-s1"]);
        Assert.False(await _store.ExistsAsync(BlobLayout.JobResult("sentiment", "run1", "predgen-s1"))); // the next delivery runs it again
    }

    [Fact]
    public async Task A_dispatch_of_a_job_that_already_has_a_result_sends_nothing()
    {
        var jobs = new InProcessJobDispatcher();
        var dispatch = new DispatchJobActivity(_store, jobs);
        await new JobHandler(_store, new FakeJobExecutor(_store), new CallbackCompletionSink((_, _) => Task.CompletedTask)).HandleAsync(Job(), CancellationToken.None);

        var existing = await dispatch.ExecuteAsync(Job());
        var fresh = await dispatch.ExecuteAsync(Job("generator-s1"));

        Assert.Equal(JobOutcome.Succeeded, existing!.Outcome);
        Assert.Null(fresh);
        Assert.True(await _store.ExistsAsync(BlobLayout.JobSpec("sentiment", "run1", "generator-s1")));
    }

    private static RunSummary Summary(string runId, double predgenAccuracy) => new()
    {
        Task = "sentiment", RunId = runId, Kind = TaskKind.Classification, DatasetPath = "datasets/sentiment/a.jsonl", StartedAt = DateTimeOffset.UnixEpoch,
        Dataset = new PreparedDataset { Task = "sentiment", RunId = runId, Kind = TaskKind.Classification },
        Jobs =
        [
            new JobSummary("predictor-s1", "Predictor", 1, JobSummary.Succeeded, null, new Dictionary<string, double> { ["accuracy"] = 0.70 }, 1, "runs/x"),
            new JobSummary("predgen-s1", "PredGen", 1, JobSummary.Succeeded, null, new Dictionary<string, double> { ["accuracy"] = predgenAccuracy }, 1, "runs/x"),
        ],
    };

    [Fact]
    public async Task Two_runs_promoting_at_once_leave_the_better_model_as_champion()
    {
        // The race made certain: both runs have read "no champion" before either goes on (the barrier is after the real
        // read: one before it let a slow run read the other's pointer and stand down without a conflict), and the better
        // run (b) writes first. Without the ETag condition the worse run's write would land last and overwrite the better model.
        string path = BlobLayout.Champion("sentiment");
        var store = new FaultyStore(_store);
        var bothRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bWrote = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int reads = 0;
        store.AfterRead = async p =>
        {
            if (p != path) return;
            int n = Interlocked.Increment(ref reads);
            if (n > 2) return;
            if (n == 2) bothRead.TrySetResult();
            await bothRead.Task.WaitAsync(TimeSpan.FromSeconds(10));
        };
        store.BeforeWrite = async (p, content) =>
        {
            if (p == path && content.Contains("\"run-a\"", StringComparison.Ordinal)) await bWrote.Task.WaitAsync(TimeSpan.FromSeconds(10));
        };
        store.AfterWrite = (p, content) =>
        {
            if (p == path && content.Contains("\"run-b\"", StringComparison.Ordinal)) bWrote.TrySetResult();
        };

        var decisions = await Task.WhenAll(
            Task.Run(() => new PromoteChampionActivity(store).ExecuteAsync(new PromoteChampionInput(Summary("run-a", 0.80), null))),
            Task.Run(() => new PromoteChampionActivity(store).ExecuteAsync(new PromoteChampionInput(Summary("run-b", 0.90), null))));

        var champion = ChampionPointer.Parse((await _store.ReadTextAsync(path))!);
        Assert.Equal(("run-b", 0.90), (champion.RunId, champion.Value));
        Assert.True(reads >= 3, "run-a did not re-read the pointer after its write was refused");
        Assert.Equal([false, true], decisions.Select(d => d.Promote)); // run-a, judged again against run-b's 0.90, stands down
    }

    [Theory]
    [InlineData(0.85, null, true)]   // beats the champion's 0.80 on this split
    [InlineData(0.75, null, false)]  // does not
    [InlineData(0.75, 0.70, true)]   // champion not scorable here: compared with its recorded 0.70
    public void The_candidate_is_promoted_only_when_it_beats_the_champion(double candidate, double? recorded, bool promote)
    {
        var current = new ChampionPointer("sentiment", "old", "predgen-s1", "PredGen", "runs/sentiment/old/jobs/predgen-s1/model", "accuracy", recorded ?? 0.99, DateTimeOffset.UnixEpoch);
        double? scoredHere = recorded == null ? 0.80 : null;

        var decision = ChampionSelection.Decide(TaskKind.Classification, Summary("new", candidate).Jobs, current, scoredHere);

        Assert.Equal("predgen-s1", decision.CandidateJobId);
        Assert.Equal(promote, decision.Promote);
    }

    [Fact]
    public void Regression_champions_are_chosen_by_the_lowest_test_mse()
    {
        JobSummary J(string id, double mse) => new(id, "PredGen", 1, JobSummary.Succeeded, null, new Dictionary<string, double> { ["mse"] = mse }, 1, "runs/x");

        var decision = ChampionSelection.Decide(TaskKind.Regression, [J("a", 2.5), J("b", 1.5), J("c", 3.0)], null, null);

        Assert.Equal(("b", "mse", false, true), (decision.CandidateJobId, decision.Metric, decision.HigherIsBetter, decision.Promote));
    }
}
