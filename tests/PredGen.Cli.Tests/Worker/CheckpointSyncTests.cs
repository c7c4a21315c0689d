using System.Diagnostics;
using PredGen.Cli.Worker;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Tests.Worker;

public sealed class CheckpointSyncTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-checkpoint-sync-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_storage_error_while_mirroring_is_retried_and_the_snapshot_still_lands_without_stopping_the_mirror()
    {
        string local = Path.Combine(_root, "local");
        Directory.CreateDirectory(local);
        await File.WriteAllTextAsync(Path.Combine(local, "weights.bin"), "weights at step 4");
        await File.WriteAllTextAsync(Path.Combine(local, "state.json"), "{\"step\":4}");
        var store = new FileSystemArtifactStore(Path.Combine(_root, "store"));
        string prefix = BlobLayout.JobCheckpoints("t", "r", "j");
        // The storage is unavailable for a while: a file where the checkpoint folder must go makes every write fail.
        string blocker = store.LocalPath(prefix);
        Directory.CreateDirectory(Path.GetDirectoryName(blocker)!);
        await File.WriteAllTextAsync(blocker, "in the way");
        var sync = new CheckpointSync(store, local, prefix);
        using var stop = new CancellationTokenSource();

        var mirroring = sync.RunAsync(TimeSpan.FromMilliseconds(20), stop.Token);
        await WaitUntilAsync(() => sync.FailedUploads >= 2 || mirroring.IsCompleted);
        bool stillMirroringAfterErrors = !mirroring.IsCompleted;
        var error = sync.LastError;
        File.Delete(blocker); // the storage is back
        await WaitUntilAsync(() => sync.SnapshotsUploaded == 1 || mirroring.IsCompleted);
        await stop.CancelAsync();
        await mirroring; // ends quietly: no storage error is rethrown at the end of the run

        Assert.True(stillMirroringAfterErrors, "one storage error stopped checkpoint mirroring for the rest of the run");
        Assert.NotNull(error);
        Assert.Equal(1, sync.SnapshotsUploaded);
        Assert.Null(sync.LastError);
        Assert.Equal("weights at step 4", await store.ReadTextAsync(BlobLayout.Combine(prefix, "000001", "weights.bin")));
        Assert.Contains("000001", await store.ReadTextAsync(BlobLayout.Combine(prefix, "latest.json")), StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!condition() && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(10);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }
}
