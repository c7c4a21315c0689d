namespace PredGen.TestSupport;

public static class TestPaths
{
    /// <summary>The repository root: the folder above the test binaries that holds PredGen.Serverless.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PredGen.Serverless.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No PredGen.Serverless.sln above {AppContext.BaseDirectory}.");
    }

    public static string TestsDirectory() => Path.Combine(RepositoryRoot(), "tests");

    /// <summary>A folder for test artifacts (screenshots, reports) that CI keeps: tests/artifacts/{name}.</summary>
    public static string ArtifactDirectory(string name)
    {
        string dir = Path.Combine(TestsDirectory(), "artifacts", name);
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>Trait values: `dotnet test --filter Category!=Integration` runs only the fast unit tests.</summary>
public static class TestCategories
{
    public const string Key = "Category";
    public const string Integration = "Integration";
}
