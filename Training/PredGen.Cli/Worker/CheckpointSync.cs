using System.Globalization;
using System.Text.Json;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Worker;

/// <summary>
/// Mirrors the trainer's checkpoints folder to the job's checkpoint prefix while training runs, so a killed worker
/// loses at most one interval and the next delivery resumes. The trainer overwrites its checkpoint in place (weights
/// first, then state.json by rename), so each upload is a consistent snapshot: taken only when the commit file
/// (state.json) changed, no other file is newer than it, and nothing changed while the files were read; written to a
/// fresh {prefix}/{n}/ folder and made current by rewriting {prefix}/latest.json last. A worker killed mid-upload
/// leaves the previous snapshot current; restore downloads only the current one.
/// </summary>
public sealed class CheckpointSync(IArtifactStore store, string localDirectory, string prefix, string commitFile = "state.json")
{
    private const string PointerFile = "latest.json";
    private (long, DateTime)? _committed;
    private int _sequence;
    private string? _current;

    public int SnapshotsUploaded { get; private set; }

    /// <summary>Downloads the current snapshot, if any; returns the number of files restored.</summary>
    public async Task<int> RestoreAsync(CancellationToken cancellationToken)
    {
        var pointer = await store.ReadTextAsync(BlobLayout.Combine(prefix, PointerFile), cancellationToken).ConfigureAwait(false);
        if (pointer == null) return 0;
        string snapshot = JsonDocument.Parse(pointer).RootElement.GetProperty("snapshot").GetString()!;
        int count = await store.DownloadDirectoryAsync(BlobLayout.Combine(prefix, snapshot), localDirectory, cancellationToken).ConfigureAwait(false);
        _sequence = int.Parse(snapshot, CultureInfo.InvariantCulture);
        _current = snapshot;
        string commit = Path.Combine(localDirectory, commitFile);
        if (File.Exists(commit)) _committed = Stamp(commit);
        return count;
    }

    public async Task UploadChangesAsync(CancellationToken cancellationToken)
    {
        string commit = Path.Combine(localDirectory, commitFile);
        if (!File.Exists(commit)) return;
        var snapshot = new List<(string Relative, byte[] Bytes)>();
        (long, DateTime) pending;
        try
        {
            var commitStamp = Stamp(commit);
            if (commitStamp == _committed) return;
            var files = Directory.EnumerateFiles(localDirectory, "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetFileName(f).EndsWith(".tmp", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            var before = files.ToDictionary(f => f, Stamp);
            if (before.Any(kv => kv.Value.Item2 > commitStamp.Item2)) return; // a newer checkpoint is being written
            foreach (var file in files)
                snapshot.Add((Path.GetRelativePath(localDirectory, file).Replace('\\', '/'), await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false)));
            if (files.Any(f => !File.Exists(f) || Stamp(f) != before[f])) return; // changed while read: next round
            pending = commitStamp;
        }
        catch (IOException)
        {
            return; // replaced while read: next round
        }

        string name = (_sequence + 1).ToString("D6", CultureInfo.InvariantCulture);
        foreach (var (relative, bytes) in snapshot)
            await store.WriteAsync(BlobLayout.Combine(prefix, name, relative), BinaryData.FromBytes(bytes), cancellationToken).ConfigureAwait(false);
        await store.WriteTextAsync(BlobLayout.Combine(prefix, PointerFile), JsonSerializer.Serialize(new { snapshot = name }), cancellationToken).ConfigureAwait(false);
        // Committed only once uploaded: a failed upload is taken again at the next round, not skipped as done.
        _committed = pending;
        _sequence++;
        string? previous = _current;
        _current = name;
        SnapshotsUploaded++;
        if (previous != null)
            foreach (var old in await store.ListAsync(BlobLayout.Combine(prefix, previous) + "/", cancellationToken).ConfigureAwait(false))
                await store.DeleteAsync(old, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads that failed (storage errors); each is retried at a later round.</summary>
    public int FailedUploads { get; private set; }

    /// <summary>The last upload error, for the job's log; null once an upload succeeds again.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Uploads a snapshot every <paramref name="interval"/> when there is a new one, until cancelled. A storage
    /// error (a throttled or unavailable account, a timeout) never stops mirroring for the rest of the run: the round
    /// is retried after a backoff of up to eight intervals, and training is never failed by it.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        var wait = interval;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                await UploadChangesAsync(cancellationToken).ConfigureAwait(false);
                LastError = null;
                wait = interval;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // any storage failure: retried at the next round (the checkpoint stays on local disk meanwhile)
            catch (Exception e)
#pragma warning restore CA1031
            {
                FailedUploads++;
                LastError = e;
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, interval.Ticks * 8));
            }
        }
    }

    private static (long, DateTime) Stamp(string file)
    {
        var info = new FileInfo(file);
        return (info.Length, info.LastWriteTimeUtc);
    }
}
