using System.Diagnostics;
using Azure.Storage.Blobs;
using PredGen.Shared.Storage;
using PredGen.TestSupport;

namespace PredGen.Integration.Tests;

/// <summary>The one Azurite starter (the fixture's npm mode and `predgen bench serve` both use it), run on its own.</summary>
[Trait(TestCategories.Key, TestCategories.Integration)]
public sealed class LocalAzuriteTests
{
    [Fact]
    public async Task An_in_memory_Azurite_serves_blobs_on_its_own_ports_and_its_process_is_gone_after_dispose()
    {
        string script = LocalAzurite.FindScript(TestPaths.RepositoryRoot())
            ?? throw new InvalidOperationException("tests/node_modules has no Azurite: scripts/test (or npm ci in tests/) installs it");
        int pid;
        using (var azurite = await LocalAzurite.StartAsync(script, location: null, TimeSpan.FromSeconds(60)))
        {
            pid = azurite.ProcessId;
            Assert.NotEqual(azurite.BlobPort, azurite.QueuePort);
            Assert.Contains($"BlobEndpoint=http://127.0.0.1:{azurite.BlobPort}/{LocalAzurite.AccountName}", azurite.ConnectionString, StringComparison.Ordinal);
            var container = new BlobServiceClient(azurite.ConnectionString, new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06))
                .GetBlobContainerClient("local");
            await container.CreateIfNotExistsAsync();
            await container.GetBlobClient("a.txt").UploadAsync(BinaryData.FromString("in memory"));
            Assert.Equal("in memory", (await container.GetBlobClient("a.txt").DownloadContentAsync()).Value.Content.ToString());
        }
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid)); // the node process was stopped
    }

    [Fact]
    public async Task A_missing_script_is_named_in_the_error()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-azurite-" + Guid.NewGuid().ToString("N"), "azurite.js");
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => LocalAzurite.StartAsync(missing, null, TimeSpan.FromSeconds(1)));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }
}
