using System.Text;
using PredGen.Shared.Data;
using PredGen.Shared.Storage;
using PredGen.TestSupport;

namespace PredGen.Integration.Tests;

[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class PrepareDatasetOnAzuriteTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_csv_upload_is_streamed_from_blob_storage_and_prepared_like_from_a_folder()
    {
        var blob = ArtifactStoreFactory.Create(azurite.ConnectionString);
        var folder = new FileSystemArtifactStore(Directory.CreateTempSubdirectory("predgen-prepare-").FullName);
        string task = "t" + Guid.NewGuid().ToString("N")[..8];
        var csv = new StringBuilder("text,label\n");
        for (int i = 0; i < 3000; i++) csv.Append('"').Append("row ").Append(i).Append(", with a comma\nand a line break\",").Append(i % 2 == 0 ? "pos" : "neg").Append('\n');
        csv.Append("broken \"quote,pos\n");
        string path = BlobLayout.Dataset(task, "big.csv");
        foreach (var store in new[] { blob, folder }) await store.WriteTextAsync(path, csv.ToString());

        var fromBlob = await DatasetPreparer.PrepareAsync(blob, task, "r1", path);
        var fromFolder = await DatasetPreparer.PrepareAsync(folder, task, "r1", path);

        Assert.Equal(3000, fromBlob.TrainRows + fromBlob.ValidationRows + fromBlob.TestRows);
        Assert.Equal(new Dictionary<string, int> { [RejectReason.MalformedCsv] = 1 }, fromBlob.RejectedByReason);
        foreach (var split in DatasetSplit.All)
            Assert.Equal(await folder.ReadTextAsync(BlobLayout.Prepared(task, "r1", split)), await blob.ReadTextAsync(BlobLayout.Prepared(task, "r1", split)));
        Assert.Equal(fromFolder.Stats!.ToJson(), fromBlob.Stats!.ToJson());
        Assert.Null(await blob.OpenReadAsync(BlobLayout.Dataset(task, "missing.csv")));
    }

    [Fact]
    public async Task An_upload_overwritten_between_the_two_reads_fails_the_preparation_naming_the_file_instead_of_mixing_versions()
    {
        var blob = ArtifactStoreFactory.Create(azurite.ConnectionString);
        string task = "t" + Guid.NewGuid().ToString("N")[..8];
        string path = BlobLayout.Dataset(task, "data.jsonl");
        static string Rows(string prefix) => string.Concat(Enumerable.Range(0, 200).Select(i => $"{{\"text\":\"{prefix} {i}\",\"label\":\"{(i % 2 == 0 ? "pos" : "neg")}\"}}\n"));
        await blob.WriteTextAsync(path, Rows("first upload"));
        // The second upload lands exactly between the preparer's first and second read (a real write to Azurite).
        var racing = new OverwriteBeforeSecondRead(blob, path, Rows("second upload, other texts"));

        var e = await Assert.ThrowsAsync<DatasetRejectedException>(() => DatasetPreparer.PrepareAsync(racing, task, "r1", path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("changed while it was being prepared", e.Message, StringComparison.Ordinal);
        Assert.IsType<ArtifactConflictException>(e.InnerException);
        Assert.Null(await blob.ReadTextAsync(BlobLayout.Prepared(task, "r1", DatasetSplit.Train))); // nothing of either version prepared
    }

    /// <summary>The real store, with a second writer that overwrites one artifact just before it is opened a second time.</summary>
    private sealed class OverwriteBeforeSecondRead(IArtifactStore inner, string path, string replacement) : IArtifactStore
    {
        private int _opens;

        private async Task BeforeOpenAsync(string opened)
        {
            if (opened == path && Interlocked.Increment(ref _opens) == 2) await inner.WriteTextAsync(path, replacement);
        }

        public string Location => inner.Location;
        public Task WriteAsync(string p, BinaryData content, CancellationToken cancellationToken = default) => inner.WriteAsync(p, content, cancellationToken);
        public Task<string> WriteIfMatchAsync(string p, BinaryData content, string? expectedETag, CancellationToken cancellationToken = default) =>
            inner.WriteIfMatchAsync(p, content, expectedETag, cancellationToken);
        public Task<StoredArtifact?> ReadAsync(string p, CancellationToken cancellationToken = default) => inner.ReadAsync(p, cancellationToken);
        public Task<bool> ExistsAsync(string p, CancellationToken cancellationToken = default) => inner.ExistsAsync(p, cancellationToken);
        public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);
        public Task DeleteAsync(string p, CancellationToken cancellationToken = default) => inner.DeleteAsync(p, cancellationToken);

        public async Task<Stream?> OpenReadAsync(string p, CancellationToken cancellationToken = default)
        {
            await BeforeOpenAsync(p);
            return await inner.OpenReadAsync(p, cancellationToken);
        }

        public async Task<PinnedRead?> OpenReadPinnedAsync(string p, string? ifMatch, CancellationToken cancellationToken = default)
        {
            await BeforeOpenAsync(p);
            return await inner.OpenReadPinnedAsync(p, ifMatch, cancellationToken);
        }
    }
}
