using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Serving;

/// <summary>
/// Follows <c>models/{task}/champion.json</c>: checks its ETag every <see cref="ServingOptions.ChampionPollSeconds"/>,
/// and when the pointer names another model, downloads that model folder, loads it off the inference thread and
/// publishes it. A broken pointer or a model that fails to load is reported once per ETag of the pointer (not tried
/// again until champion.json changes; the loader disposes what it had loaded) and the current model keeps serving.
/// </summary>
public sealed partial class ChampionWatcher(
    IArtifactStore store, IPredictionEngineLoader loader, ServingModelSlot slot, ServingOptions options, ServingMetrics metrics,
    ILogger<ChampionWatcher> logger, TimeProvider? timeProvider = null) : BackgroundService
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private string? _seenETag;
    private Exception? _reported; // a load failure CheckOnceAsync has logged itself (with the pointer and ETag)

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(0.05, options.ChampionPollSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a failed check must not stop the worker: the current model keeps serving
            catch (Exception e)
#pragma warning restore CA1031
            {
                if (!ReferenceEquals(e, _reported)) LogCheckFailed(logger, e, options.Task);
            }
            try
            {
                await Task.Delay(interval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One look at the pointer; returns true when a new model was published.</summary>
    public async Task<bool> CheckOnceAsync(CancellationToken cancellationToken)
    {
        var artifact = await store.ReadAsync(BlobLayout.Champion(options.Task), cancellationToken).ConfigureAwait(false);
        if (artifact == null)
        {
            if (!slot.HasModel) LogNoChampion(logger, options.Task, BlobLayout.Champion(options.Task));
            return false;
        }
        if (artifact.ETag == _seenETag) return false;
        ChampionPointer pointer;
        try
        {
            pointer = ChampionPointer.Parse(artifact.Content.ToString());
        }
        catch
        {
            // A broken pointer stays broken until rewritten (a new ETag): report it once, not every poll.
            _seenETag = artifact.ETag;
            metrics.RecordModelLoadFailure();
            throw;
        }
        var current = slot.PublishedPointer;
        if (current != null && current.ModelPath == pointer.ModelPath && current.RunId == pointer.RunId && current.JobId == pointer.JobId)
        {
            _seenETag = artifact.ETag;
            return false;
        }
        // A failed download (storage) is transient and is tried again at the next poll.
        string directory = await LocalModelDirectoryAsync(pointer, cancellationToken).ConfigureAwait(false);
        var started = _time.GetTimestamp();
        IPredictionEngine engine;
        try
        {
            // The loader disposes what it loaded before failing (TrainedModel.Load / ModelDirectory.Load).
            engine = await Task.Run(() => loader.Load(directory, pointer), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A model folder that does not load will not load at the next poll either: loading it again every poll
            // would cost a whole model's load each time. Tried once per ETag of the pointer, reported once.
            _seenETag = artifact.ETag;
            metrics.RecordModelLoadFailure();
            LogLoadFailed(logger, e, options.Task, pointer.RunId, pointer.JobId, pointer.ModelPath, artifact.ETag);
            _reported = e;
            throw;
        }
        slot.Publish(new LoadedModel(engine, pointer));
        _seenETag = artifact.ETag;
        metrics.RecordReload();
        double loadMs = _time.GetElapsedTime(started).TotalMilliseconds;
        LogLoaded(logger, options.Task, pointer.RunId, pointer.JobId, pointer.Method, loadMs);
        return true;
    }

    private async Task<string> LocalModelDirectoryAsync(ChampionPointer pointer, CancellationToken cancellationToken)
    {
        // A folder store already has the files on this machine: load them in place.
        if (store is FileSystemArtifactStore folder) return folder.LocalPath(pointer.ModelPath);
        string target = Path.Combine(options.ModelCacheDirectory, BlobLayout.Segment(options.Task, "task"),
            BlobLayout.Segment(pointer.RunId, "run_id") + "_" + BlobLayout.Segment(pointer.JobId, "job_id"));
        if (Directory.Exists(target)) return target;
        string temp = target + ".download-" + Guid.NewGuid().ToString("N")[..8];
        int files = await store.DownloadDirectoryAsync(pointer.ModelPath, temp, cancellationToken).ConfigureAwait(false);
        if (files == 0) throw new InvalidOperationException($"the champion's model_path '{pointer.ModelPath}' holds no files");
        try
        {
            Directory.Move(temp, target);
        }
        catch (IOException) when (Directory.Exists(target))
        {
            Directory.Delete(temp, recursive: true); // another worker on this machine finished first
        }
        return target;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving task {Task}: loaded champion run {RunId} job {JobId} ({Method}) in {Milliseconds:F0} ms")]
    private static partial void LogLoaded(ILogger logger, string task, string runId, string jobId, string method, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Serving task {Task}: champion run {RunId} job {JobId} ({ModelPath}) failed to load; not tried again until champion.json changes (ETag {ETag}); the current model keeps serving")]
    private static partial void LogLoadFailed(ILogger logger, Exception error, string task, string runId, string jobId, string modelPath, string eTag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Serving task {Task}: no champion yet at {Path}; requests wait in the queue")]
    private static partial void LogNoChampion(ILogger logger, string task, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Serving task {Task}: checking or loading the champion failed; the current model keeps serving")]
    private static partial void LogCheckFailed(ILogger logger, Exception error, string task);
}
