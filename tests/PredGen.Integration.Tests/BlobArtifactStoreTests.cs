using PredGen.Shared.Storage;
using PredGen.TestSupport;

namespace PredGen.Integration.Tests;

[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class BlobArtifactStoreTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task The_blob_store_on_Azurite_honours_etag_conditions_like_the_folder_store()
    {
        var store = ArtifactStoreFactory.Create(azurite.ConnectionString);
        string task = "t" + Guid.NewGuid().ToString("N")[..8];
        string path = BlobLayout.Champion(task);

        string first = await store.WriteIfMatchAsync(path, BinaryData.FromString("v1"), expectedETag: null);
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.WriteIfMatchAsync(path, BinaryData.FromString("x"), expectedETag: null));
        string second = await store.WriteIfMatchAsync(path, BinaryData.FromString("v2"), first);
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.WriteIfMatchAsync(path, BinaryData.FromString("x"), first));

        var read = await store.ReadAsync(path);
        Assert.Equal("v2", read!.Content.ToString());
        Assert.Equal(second, read.ETag);
        Assert.Equal([path], await store.ListAsync($"models/{task}/"));
    }
}
