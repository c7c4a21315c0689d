using System.Text.Json;

namespace PredGen.Functions.Tests;

public sealed class FunctionsMetadataTests
{
    /// <summary>The Functions host discovers functions from functions.metadata, which the Worker SDK generates at build time.</summary>
    [Fact]
    public void The_built_functions_metadata_lists_the_health_endpoint()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "functions.metadata");
        Assert.True(File.Exists(path), $"functions.metadata not found next to the tests ({path})");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var names = doc.RootElement.EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Contains("Health", names);
    }
}
