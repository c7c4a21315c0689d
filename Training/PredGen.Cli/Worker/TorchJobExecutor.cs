using System.Diagnostics;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;
using PredGen.Training.Baselines;
using PredGen.Training.Methods;
using PredGen.Training.Methods.Tuning;
using PredGen.Training.Runtime;

namespace PredGen.Cli.Worker;

/// <summary>Where the worker keeps its scratch files and what it trains from when a job names no base model.</summary>
public sealed record WorkerOptions
{
    /// <summary>Local scratch folder: prepared data, checkpoints, models ({WorkDirectory}/{task}/{runId}/{jobId}).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Base model folder for jobs that name none (the image's or the repository's models/base).</summary>
    public string? DefaultBaseModel { get; init; }

    public TorchOptions Torch { get; init; } = new() { Device = "cpu" };

    /// <summary>How often checkpoints are mirrored to the store while training.</summary>
    public TimeSpan CheckpointSyncInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Stop training after this many optimizer steps (TrainOptions.StopAfterSteps): tests of resumption.</summary>
    public int? StopAfterSteps { get; init; }
}

/// <summary>
/// The `predgen` worker's jobs, on TorchSharp: Train (the methods issue's Trainer, resumed from the job's checkpoints
/// in the store), Mine (mutual information of a trained model's representations), Evaluate (a model, usually the
/// champion, on a run's test split), Baseline (the classical n-gram floor, ML.NET). Everything a job produces goes
/// under BlobLayout.Job; the local folder is scratch.
/// </summary>
public sealed class TorchJobExecutor(IArtifactStore store, WorkerOptions options, IMineAnalysis? mine = null) : IJobExecutor
{
    public async Task<JobCompletion> ExecuteAsync(JobMessage job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        string work = Path.Combine(options.WorkDirectory, job.Task, job.RunId, job.JobId);
        Directory.CreateDirectory(work);
        return job.Kind switch
        {
            JobKind.Train => await TrainAsync(job, work, cancellationToken).ConfigureAwait(false),
            JobKind.Mine => await MineAsync(job, work, cancellationToken).ConfigureAwait(false),
            JobKind.Evaluate => await EvaluateAsync(job, work, cancellationToken).ConfigureAwait(false),
            JobKind.Baseline => await BaselineAsync(job, work, cancellationToken).ConfigureAwait(false),
            _ => throw new NotSupportedException($"job kind {job.Kind}"),
        };
    }

    private async Task<JobCompletion> TrainAsync(JobMessage job, string work, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string dataDir = await DownloadPreparedAsync(job, Path.Combine(work, "data"), cancellationToken).ConfigureAwait(false);
        string baseModel = await ResolveBaseModelAsync(job, work, cancellationToken).ConfigureAwait(false);
        string outDir = Path.Combine(work, "out");
        string jobPrefix = BlobLayout.Job(job.Task, job.RunId, job.JobId);
        var checkpoints = new CheckpointSync(store, Path.Combine(outDir, Trainer.CheckpointsDirectoryName), BlobLayout.JobCheckpoints(job.Task, job.RunId, job.JobId));
        await checkpoints.RestoreAsync(cancellationToken).ConfigureAwait(false);
        // The per-step curve continues across deliveries: bring back what the killed worker had written.
        var curve = await store.ReadAsync(BlobLayout.JobMetrics(job.Task, job.RunId, job.JobId), cancellationToken).ConfigureAwait(false);
        if (curve != null) await File.WriteAllBytesAsync(Path.Combine(outDir, Trainer.StepMetricsFileName), curve.Content.ToArray(), cancellationToken).ConfigureAwait(false);

        var train = ToTrainOptions(job);
        using var syncing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sync = checkpoints.RunAsync(options.CheckpointSyncInterval, syncing.Token);
        var curveSync = SyncCurveAsync(job, outDir, syncing.Token);
        TrainResult result;
        try
        {
            result = await Task.Run(() => Trainer.Train(train, dataDir, baseModel, outDir, progress: null, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await syncing.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(sync, curveSync).ConfigureAwait(false);
        }
        // The last checkpoint is worth a longer wait than a rerun of the job: a delivery that finds it resumes at the end.
        await TransientRetry.Default.RunAsync(checkpoints.UploadChangesAsync, null, cancellationToken).ConfigureAwait(false);
        if (result.Interrupted)
            throw new OperationCanceledException($"training stopped after step {result.Steps} (StopAfterSteps); the next delivery resumes");

        // model/, metrics.json, metrics.jsonl, test_predictions.jsonl (BlobLayout.JobTestPredictions); checkpoints are mirrored
        await store.UploadDirectoryAsync(Path.Combine(outDir, Trainer.ModelDirectoryName), BlobLayout.JobModel(job.Task, job.RunId, job.JobId), cancellationToken).ConfigureAwait(false);
        foreach (var file in new[] { Trainer.MetricsFileName, Trainer.StepMetricsFileName, Trainer.TestPredictionsFileName })
        {
            string local = Path.Combine(outDir, file);
            if (File.Exists(local))
                await store.WriteAsync(BlobLayout.Combine(jobPrefix, file), BinaryData.FromBytes(await File.ReadAllBytesAsync(local, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        }

        var completion = Succeeded(job, WithValidationScore(MetricsOf(result.Test), result.Validation), clock.Elapsed.TotalSeconds) with { ResumedFromStep = result.ResumedFromStep ?? 0 };
        // Mirroring rounds that a storage error made wait (each was retried): said in the result, not hidden.
        return checkpoints.FailedUploads == 0 ? completion
            : completion with { Details = new Dictionary<string, string> { ["checkpoint_upload_retries"] = checkpoints.FailedUploads.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
    }

    /// <summary>The classical baseline on the run's prepared splits: metrics.json and test_predictions.jsonl go where a
    /// train job's do, so the report reads them the same way. Cheap (seconds) and deterministic: no checkpoints.</summary>
    private async Task<JobCompletion> BaselineAsync(JobMessage job, string work, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string dataDir = await DownloadPreparedAsync(job, Path.Combine(work, "data"), cancellationToken).ConfigureAwait(false);
        string outDir = Path.Combine(work, "out");
        var options = new BaselineOptions { TaskKind = job.TaskKind, Seed = Math.Max(1, job.Seed) };
        var result = await Task.Run(() => TextBaseline.Run(options, dataDir, outDir), cancellationToken).ConfigureAwait(false);
        string jobPrefix = BlobLayout.Job(job.Task, job.RunId, job.JobId);
        foreach (var file in new[] { Trainer.MetricsFileName, Trainer.TestPredictionsFileName })
        {
            string local = Path.Combine(outDir, file);
            if (File.Exists(local))
                await store.WriteAsync(BlobLayout.Combine(jobPrefix, file), BinaryData.FromBytes(await File.ReadAllBytesAsync(local, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        }
        return Succeeded(job, WithValidationScore(MetricsOf(result.Test), result.Validation), clock.Elapsed.TotalSeconds)
            with { Details = new Dictionary<string, string> { ["model"] = result.Model } };
    }

    /// <summary>The kept model's validation score (Metrics.Score: macro-F1, or −MSE), which the learning-rate trials compare.</summary>
    private static Dictionary<string, double> WithValidationScore(Dictionary<string, double> metrics, Metrics? validation)
    {
        if (validation != null && double.IsFinite(validation.Score)) metrics[JobCompletion.ValidationScoreMetric] = validation.Score;
        return metrics;
    }

    private async Task SyncCurveAsync(JobMessage job, string outDir, CancellationToken cancellationToken)
    {
        string local = Path.Combine(outDir, Trainer.StepMetricsFileName);
        long uploaded = -1;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.CheckpointSyncInterval, cancellationToken).ConfigureAwait(false);
                if (!File.Exists(local) || new FileInfo(local).Length == uploaded) continue;
                byte[] bytes;
                using (var stream = new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
                using (var copy = new MemoryStream())
                {
                    await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                    bytes = copy.ToArray();
                }
                await store.WriteAsync(BlobLayout.JobMetrics(job.Task, job.RunId, job.JobId), BinaryData.FromBytes(bytes), cancellationToken).ConfigureAwait(false);
                uploaded = bytes.Length;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (IOException)
            {
                // the trainer holds the file: next round
            }
        }
    }

    private TrainOptions ToTrainOptions(JobMessage job)
    {
        var s = job.Settings;
        var o = new TrainOptions
        {
            Method = job.MethodAs<MethodKind>(),
            TaskKind = job.TaskKind,
            AnswerFormat = job.AnswerFormat,
            Seed = job.Seed,
            Torch = options.Torch,
            StopAfterSteps = options.StopAfterSteps,
        };
        if (s.Steps is int steps) o = o with { MaxSteps = steps };
        if (s.BatchSize is int batch) o = o with { BatchSize = batch };
        if (s.LearningRate is double lr) o = o with { LearningRate = lr };
        if (s.EvalEvery is int every) o = o with { EvalEvery = every };
        if (s.CheckpointEvery is int checkpointEvery) o = o with { CheckpointEvery = checkpointEvery };
        if (s.MaxPromptTokens is int promptTokens) o = o with { MaxPromptTokens = promptTokens };
        if (s.UseLora is bool lora) o = o with { FineTuning = LearningRateSearch.FineTuningOf(lora) };
        return o;
    }

    private async Task<JobCompletion> MineAsync(JobMessage job, string work, CancellationToken cancellationToken)
    {
        if (mine == null) throw new NotSupportedException("this worker has no MINE analysis");
        var clock = Stopwatch.StartNew();
        string dataDir = await DownloadPreparedAsync(job, Path.Combine(work, "data"), cancellationToken).ConfigureAwait(false);
        string modelDir = await DownloadModelAsync(job, work, cancellationToken).ConfigureAwait(false);
        // Validation and test rows (unseen by the model) fill MINE's held-out part; the training rows give the critic
        // enough pairs to learn from (ModelMutualInformation.RecommendedRows).
        var rows = PreparedRow.ReadJsonl(Path.Combine(dataDir, DatasetSplit.ValidationFile)).Concat(PreparedRow.ReadJsonl(Path.Combine(dataDir, DatasetSplit.TestFile))).ToList();
        var trainingRows = PreparedRow.ReadJsonl(Path.Combine(dataDir, DatasetSplit.TrainFile));
        using var model = TrainedModel.Load(modelDir, options.Torch);
        var analysis = await Task.Run(() => mine.Analyse(model, rows, trainingRows, job.Seed, job.Settings.MineSteps, cancellationToken), cancellationToken).ConfigureAwait(false);
        // Stored under the train job it analysed (a message without a source, e.g. from `predgen worker` tests: its own id).
        await store.WriteTextAsync(BlobLayout.Mine(job.Task, job.RunId, job.SourceJobId ?? job.JobId), analysis.DetailsJson, cancellationToken).ConfigureAwait(false);
        return Succeeded(job, analysis.Metrics.ToMetrics(), clock.Elapsed.TotalSeconds) with { Details = new Dictionary<string, string> { ["bound"] = analysis.Bound } };
    }

    private async Task<JobCompletion> EvaluateAsync(JobMessage job, string work, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string dataDir = await DownloadPreparedAsync(job, Path.Combine(work, "data"), cancellationToken).ConfigureAwait(false);
        string modelDir = await DownloadModelAsync(job, work, cancellationToken).ConfigureAwait(false);
        var rows = TestRows(job, dataDir);
        using var model = TrainedModel.Load(modelDir, options.Torch);
        if (model.Card.TaskKind != job.TaskKind)
            throw new InvalidOperationException($"the model predicts {model.Card.TaskKind}, the run is {job.TaskKind}");
        var metrics = Evaluation.Evaluate(model, rows);
        return Succeeded(job, MetricsOf(metrics), clock.Elapsed.TotalSeconds);
    }

    private static List<PreparedRow> TestRows(JobMessage job, string dataDir)
    {
        var rows = PreparedRow.ReadJsonl(Path.Combine(dataDir, DatasetSplit.TestFile));
        return job.Settings.MaxTestRows is int max ? [.. rows.Take(max)] : [.. rows];
    }

    private async Task<string> DownloadPreparedAsync(JobMessage job, string dataDir, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDir);
        foreach (var split in DatasetSplit.All)
        {
            var artifact = await store.ReadAsync(BlobLayout.Prepared(job.Task, job.RunId, split), cancellationToken).ConfigureAwait(false)
                ?? throw new FileNotFoundException($"prepared split '{split}' of run {job.RunId} is missing");
            await File.WriteAllBytesAsync(Path.Combine(dataDir, DatasetSplit.FileName(split)), artifact.Content.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        return dataDir;
    }

    private async Task<string> DownloadModelAsync(JobMessage job, string work, CancellationToken cancellationToken)
    {
        string modelPath = job.ModelPath ?? throw new InvalidOperationException($"{job.Kind} job {job.JobId} names no model");
        string modelDir = Path.Combine(work, "model");
        if (Directory.Exists(modelDir)) Directory.Delete(modelDir, recursive: true);
        if (await store.DownloadDirectoryAsync(modelPath, modelDir, cancellationToken).ConfigureAwait(false) == 0)
            throw new FileNotFoundException($"no model under {modelPath}");
        return modelDir;
    }

    private async Task<string> ResolveBaseModelAsync(JobMessage job, string work, CancellationToken cancellationToken)
    {
        string? named = job.BaseModel ?? options.DefaultBaseModel;
        if (named == null) throw new InvalidOperationException("the job names no base model and the worker has no default (--base-model)");
        if (Directory.Exists(named)) return named;
        string local = Path.Combine(work, "base");
        if (await store.DownloadDirectoryAsync(named, local, cancellationToken).ConfigureAwait(false) == 0)
            throw new DirectoryNotFoundException($"base model '{named}' is neither a local folder nor an artifact prefix in {store.Location}");
        return local;
    }

    private static Dictionary<string, double> MetricsOf(Metrics m)
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        void Add(string name, double? v) { if (v is double x && double.IsFinite(x)) d[name] = x; }
        Add("accuracy", m.Accuracy); Add("macro_f1", m.MacroF1);
        Add("mse", m.Mse); Add("mae", m.Mae); Add("pearson", m.Pearson); Add("spearman", m.Spearman); Add("r2", m.R2);
        d["count"] = m.Count;
        return d;
    }

    private static JobCompletion Succeeded(JobMessage job, IReadOnlyDictionary<string, double> metrics, double seconds) => new()
    {
        JobId = job.JobId, Kind = job.Kind, Task = job.Task, RunId = job.RunId, NotifyInstanceId = job.NotifyInstanceId,
        Outcome = JobOutcome.Succeeded, Metrics = metrics, Seconds = seconds,
    };
}

/// <summary>What a MINE job computes for one trained model: the estimates per representation (<see cref="MineMetrics"/>,
/// which owns how they travel as metrics), the bound's name, and the full estimate as JSON (BlobLayout.Mine).</summary>
public sealed record MineAnalysis(MineMetrics Metrics, string Bound, string DetailsJson);

/// <summary>The MINE issue's estimator applied to a trained model's representations.</summary>
public interface IMineAnalysis
{
    /// <param name="rows">Rows the model did not train on; MINE holds them out first.</param>
    /// <param name="trainingRows">The model's training rows, added so the critic has pairs enough to learn from.</param>
    MineAnalysis Analyse(TrainedModel model, IReadOnlyList<PreparedRow> rows, IReadOnlyList<PreparedRow> trainingRows, int seed, int? maxSteps, CancellationToken cancellationToken);
}
