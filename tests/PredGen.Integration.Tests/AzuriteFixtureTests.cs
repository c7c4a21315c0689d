using Azure.Storage.Blobs;
using PredGen.TestSupport;

namespace PredGen.Integration.Tests;

[Collection(AzuriteTests.Name)]
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class AzuriteFixtureTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_blob_written_to_Azurite_reads_back_byte_for_byte()
    {
        var container = azurite.CreateBlobServiceClient().GetBlobContainerClient("fixture-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateIfNotExistsAsync();
        var payload = BinaryData.FromString("{\"text\":\"hello\",\"label\":\"ham\"}\n");

        await container.GetBlobClient("datasets/demo/a.jsonl").UploadAsync(payload);
        var read = await container.GetBlobClient("datasets/demo/a.jsonl").DownloadContentAsync();

        Assert.Equal(payload.ToArray(), read.Value.Content.ToArray());
    }

    [Fact]
    public async Task A_queue_message_sent_to_Azurite_is_received_once_and_deleted()
    {
        var queue = azurite.CreateQueueServiceClient().GetQueueClient("fixture-" + Guid.NewGuid().ToString("N")[..8]);
        await queue.CreateIfNotExistsAsync();

        await queue.SendMessageAsync("job-42");
        var received = await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("job-42", received.Value.MessageText);
        await queue.DeleteMessageAsync(received.Value.MessageId, received.Value.PopReceipt);

        var again = await queue.ReceiveMessageAsync();
        Assert.Null(again.Value);
    }

    [Fact]
    public void The_fixture_listens_on_loopback_ports_it_chose()
    {
        Assert.Contains("127.0.0.1", azurite.ConnectionString, StringComparison.Ordinal);
        Assert.NotEqual(10000, azurite.BlobPort);
        Assert.Equal("npm", azurite.Mode);
    }
}
