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
}
