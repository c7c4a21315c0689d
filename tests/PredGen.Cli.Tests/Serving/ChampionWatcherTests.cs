using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Serving;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;

namespace PredGen.Cli.Tests.Serving;

public sealed class ChampionWatcherTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-watcher-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_broken_pointer_or_model_leaves_the_current_champion_serving_and_a_good_one_replaces_it()
    {
        var store = new FileSystemArtifactStore(_root);
        var loader = new ScriptedEngineLoader();
        using var slot = new ServingModelSlot();
        using var metrics = new ServingMetrics();
        var options = new ServingOptions { Task = "spam", ModelCacheDirectory = Path.Combine(_root, "cache") };
        using var watcher = new ChampionWatcher(store, loader, slot, options, metrics, NullLogger<ChampionWatcher>.Instance);
        async Task Point(string jobId, bool withModel)
        {
            string modelPath = BlobLayout.JobModel("spam", "run-1", jobId);
            if (withModel) await store.WriteTextAsync(BlobLayout.Combine(modelPath, "model_card.json"), "{}");
            await store.WriteTextAsync(BlobLayout.Champion("spam"),
                new ChampionPointer("spam", "run-1", jobId, "PredGen", modelPath, "accuracy", 0.9, DateTimeOffset.UnixEpoch).ToJson());
        }

        Assert.False(await watcher.CheckOnceAsync(CancellationToken.None)); // no champion yet: nothing to serve, no error
        await Point("job-a", withModel: true);
        Assert.True(await watcher.CheckOnceAsync(CancellationToken.None));
        Assert.False(await watcher.CheckOnceAsync(CancellationToken.None)); // same ETag: nothing reloaded

        await store.WriteTextAsync(BlobLayout.Champion("spam"), "{ not a pointer");
        await Assert.ThrowsAsync<System.Text.Json.JsonException>(() => watcher.CheckOnceAsync(CancellationToken.None));
        Assert.False(await watcher.CheckOnceAsync(CancellationToken.None)); // the same broken pointer: reported once
        await store.WriteTextAsync(BlobLayout.Champion("spam"), "{\"task\":\"spam\"}");
        var incomplete = await Assert.ThrowsAsync<FormatException>(() => watcher.CheckOnceAsync(CancellationToken.None));
        Assert.Contains("'model_path'", incomplete.Message, StringComparison.Ordinal);
        await Point("job-missing", withModel: false);
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => watcher.CheckOnceAsync(CancellationToken.None));
        Assert.Equal("job-a", slot.AcquireForBatch().Champion.JobId);

        await Point("job-b", withModel: true);
        Assert.True(await watcher.CheckOnceAsync(CancellationToken.None));
        Assert.Equal("job-b", slot.AcquireForBatch().Champion.JobId);
        Assert.Equal(2, metrics.Reloads);
        Assert.Equal(3, metrics.ModelLoadFailures); // the unreadable pointer, the incomplete one, the missing folder
        Assert.True(loader.Loaded[0].Disposed);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }
}
