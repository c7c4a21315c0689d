using PredGen.Shared.Storage;

namespace PredGen.Cli.Worker;

/// <summary>
/// Mirrors a local checkpoints folder to the job's checkpoint prefix while training runs (every few seconds and once
/// at the end), so a worker that is killed loses at most the interval: the next delivery downloads the prefix and the
/// trainer resumes from its newest checkpoint. Files are uploaded when new or changed; temporary files (".tmp", a
/// folder named "*.tmp") are skipped, as the trainer renames a checkpoint into place only once it is whole.
/// </summary>
public sealed class CheckpointSync(IArtifactStore store, string localDirectory, string prefix)
{
    private readonly Dictionary<string, (long Length, DateTime Written)> _uploaded = new(StringComparer.Ordinal);

    public int FilesUploaded { get; private set; }

    /// <summary>Downloads what earlier deliveries uploaded; returns the number of files.</summary>
    public async Task<int> RestoreAsync(CancellationToken cancellationToken)
    {
        int count = await store.DownloadDirectoryAsync(prefix, localDirectory, cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(localDirectory))
            foreach (var file in Directory.EnumerateFiles(localDirectory, "*", SearchOption.AllDirectories))
                _uploaded[file] = Stamp(file);
        return count;
    }

    public async Task UploadChangesAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(localDirectory)) return;
        foreach (var file in Directory.EnumerateFiles(localDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(localDirectory, file).Replace('\\', '/');
            if (relative.Split('/').Any(part => part.EndsWith(".tmp", StringComparison.Ordinal) || part.StartsWith('.'))) continue;
            (long, DateTime) stamp;
            byte[] bytes;
            try
            {
                stamp = Stamp(file);
                if (_uploaded.TryGetValue(file, out var seen) && seen == stamp) continue;
                bytes = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                continue; // replaced or removed by the trainer meanwhile (old checkpoints are pruned): next round
            }
            await store.WriteAsync(BlobLayout.Combine(prefix, relative), BinaryData.FromBytes(bytes), cancellationToken).ConfigureAwait(false);
            _uploaded[file] = stamp;
            FilesUploaded++;
        }
    }

    /// <summary>Uploads changes every <paramref name="interval"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                await UploadChangesAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static (long, DateTime) Stamp(string file)
    {
        var info = new FileInfo(file);
        return (info.Length, info.LastWriteTimeUtc);
    }
}
