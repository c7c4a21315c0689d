using PredGen.Shared.Storage;
using PredGen.TestSupport;

namespace PredGen.Shared.Tests;

/// <summary>IArtifactStore.OpenWriteAsync on blobs (Azurite) and on a folder: written in blocks as it goes, visible only
/// once committed, and an abandoned write leaves the previous version (issue 14, item 15).</summary>
[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class ArtifactWriteStreamTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-write-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    public static TheoryData<string> Stores => ["blob", "folder"];

    private IArtifactStore Store(string kind) => kind == "blob" ? ArtifactStoreFactory.Create(azurite.ConnectionString) : new FileSystemArtifactStore(_root);

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_streamed_artifact_appears_whole_on_commit_and_an_abandoned_one_leaves_the_previous_version(string kind)
    {
        var store = Store(kind);
        string path = $"runs/write-{Guid.NewGuid():N}/prepared/train.jsonl";
        await store.WriteTextAsync(path, "previous\n");
        // 9 MB in 1,000-byte lines: more than two 4 MB blocks.
        byte[] line = [.. System.Text.Encoding.ASCII.GetBytes(new string('x', 999)), (byte)'\n'];

        await using (var abandoned = await store.OpenWriteAsync(path))
            abandoned.Write(line);
        Assert.Equal("previous\n", await store.ReadTextAsync(path));

        await using (var writer = await store.OpenWriteAsync(path))
        {
            for (int i = 0; i < 9_000; i++) writer.Write(line);
            Assert.Equal("previous\n", await store.ReadTextAsync(path)); // nothing visible before the commit
            await writer.CommitAsync();
        }
        var written = (await store.ReadAsync(path))!.Content.ToMemory();

        Assert.Equal(9_000_000, written.Length);
        Assert.True(written.Span.SequenceEqual(Enumerable.Repeat(line, 9_000).SelectMany(l => l).ToArray()));
        await using (var empty = await store.OpenWriteAsync(path + ".empty"))
            await empty.CommitAsync();
        Assert.Equal(0, (await store.ReadAsync(path + ".empty"))!.Content.ToMemory().Length);
    }
}
