using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Serving;

/// <summary>
/// Follows <c>models/{task}/champion.json</c>: checks its ETag every <see cref="ServingOptions.ChampionPollSeconds"/>,
/// and when the pointer names another model, downloads that model folder, loads it off the inference thread and
/// publishes it. A broken pointer or model is logged and the current model keeps serving.
/// </summary>
public sealed partial class ChampionWatcher(
    IArtifactStore store, IPredictionEngineLoader loader, ServingModelSlot slot, ServingOptions options, ServingMetrics metrics,
    ILogger<ChampionWatcher> logger, TimeProvider? timeProvider = null) : BackgroundService
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private string? _seenETag;

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
                LogCheckFailed(logger, e, options.Task);
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
        var pointer = ChampionPointer.Parse(artifact.Content.ToString());
        var current = slot.PublishedPointer;
        if (current != null && current.ModelPath == pointer.ModelPath && current.RunId == pointer.RunId && current.JobId == pointer.JobId)
        {
            _seenETag = artifact.ETag;
            return false;
        }
        string directory = await LocalModelDirectoryAsync(pointer, cancellationToken).ConfigureAwait(false);
        var started = _time.GetTimestamp();
        var engine = await Task.Run(() => loader.Load(directory, pointer), cancellationToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Serving task {Task}: no champion yet at {Path}; requests wait in the queue")]
    private static partial void LogNoChampion(ILogger logger, string task, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Serving task {Task}: checking or loading the champion failed; the current model keeps serving")]
    private static partial void LogCheckFailed(ILogger logger, Exception error, string task);
}
