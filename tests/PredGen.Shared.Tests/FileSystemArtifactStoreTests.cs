using PredGen.Shared.Storage;

namespace PredGen.Shared.Tests;

public sealed class FileSystemArtifactStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Written_artifacts_read_back_and_list_under_their_prefix_in_order()
    {
        var store = new FileSystemArtifactStore(_root);
        await store.WriteTextAsync("runs/spam/r1/prepared/train.jsonl", "a");
        await store.WriteTextAsync("runs/spam/r1/prepared/test.jsonl", "b");
        await store.WriteTextAsync("runs/spam/r2/prepared/test.jsonl", "c");

        Assert.Equal("a", await store.ReadTextAsync("runs/spam/r1/prepared/train.jsonl"));
        Assert.Equal(["runs/spam/r1/prepared/test.jsonl", "runs/spam/r1/prepared/train.jsonl"], await store.ListAsync("runs/spam/r1/"));
        Assert.Null(await store.ReadAsync("runs/spam/r9/x.json"));
    }

    [Fact]
    public async Task A_conditional_write_with_a_stale_etag_is_refused_and_changes_nothing()
    {
        var store = new FileSystemArtifactStore(_root);
        string first = await store.WriteIfMatchAsync("models/spam/champion.json", BinaryData.FromString("v1"), expectedETag: null);
        string second = await store.WriteIfMatchAsync("models/spam/champion.json", BinaryData.FromString("v2"), first);

        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.WriteIfMatchAsync("models/spam/champion.json", BinaryData.FromString("v3"), first));
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.WriteIfMatchAsync("models/spam/champion.json", BinaryData.FromString("v3"), expectedETag: null));
        var current = await store.ReadAsync("models/spam/champion.json");
        Assert.Equal("v2", current!.Content.ToString());
        Assert.Equal(second, current.ETag);
    }

    [Fact]
    public void Paths_that_escape_the_store_or_use_bad_segments_are_rejected()
    {
        var store = new FileSystemArtifactStore(_root);
        Assert.Throws<ArgumentException>(() => store.LocalPath("runs/../../etc/passwd"));
        Assert.Throws<ArgumentException>(() => BlobLayout.Champion("Spam Task"));
        Assert.Equal("runs/spam/r1/jobs/predgen-s1/checkpoints", BlobLayout.JobCheckpoints("spam", "r1", "predgen-s1"));
    }
}
