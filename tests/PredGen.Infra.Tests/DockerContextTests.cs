using System.Text.RegularExpressions;
using System.Xml.Linq;
using PredGen.TestSupport;

namespace PredGen.Infra.Tests;

/// <summary>The images' build context (repository root minus .dockerignore) holds every project and file the published project needs.</summary>
public sealed class DockerContextTests
{
    private static readonly string s_root = TestPaths.RepositoryRoot();

    /// <summary>.dockerignore lines as regexes over context-relative paths ('**/' = any folders, '*' = within a name).</summary>
    private static List<Regex> IgnorePatterns() =>
        File.ReadLines(Path.Combine(s_root, ".dockerignore"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('!'))
            .Select(l => "^" + Regex.Escape(l.TrimEnd('/')).Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal).Replace(@"\*", "[^/]*", StringComparison.Ordinal) + "(/.*)?$")
            .Select(p => new Regex(p, RegexOptions.CultureInvariant))
            .ToList();

    private static bool Ignored(string fullPath, List<Regex> patterns)
    {
        string rel = Path.GetRelativePath(s_root, fullPath).Replace('\\', '/');
        return patterns.Any(p => p.IsMatch(rel));
    }

    /// <summary>The project and everything it references (ProjectReference closure), with the non-package items they include.</summary>
    private static IEnumerable<(string Project, string Include)> Closure(string project, HashSet<string> seen)
    {
        if (!seen.Add(project)) yield break;
        yield return (project, project);
        var doc = XDocument.Load(project);
        string dir = Path.GetDirectoryName(project)!;
        foreach (var item in doc.Descendants().Where(e => e.Attribute("Include") is not null && e.Name.LocalName is not ("PackageReference" or "Using" or "InternalsVisibleTo" or "FrameworkReference" or "AssemblyMetadata")))
        {
            string include = item.Attribute("Include")!.Value.Replace('\\', '/');
            string path = Path.GetFullPath(Path.Combine(dir, include.Split('*')[0]));
            if (item.Name.LocalName == "ProjectReference")
                foreach (var inner in Closure(path, seen)) yield return inner;
            else
                yield return (project, path);
        }
    }

    [Theory]
    [InlineData("Dockerfile.trainer")]
    [InlineData("Dockerfile.prediction-worker")]
    public void Everything_the_published_project_needs_is_inside_the_build_context(string dockerfile)
    {
        string text = File.ReadAllText(Path.Combine(s_root, "Training", dockerfile));
        string published = Regex.Match(text, @"dotnet publish\s+(\S+\.csproj)").Groups[1].Value;
        var patterns = IgnorePatterns();

        var needed = Closure(Path.GetFullPath(Path.Combine(s_root, published)), new HashSet<string>(StringComparer.Ordinal)).ToList();
        var excluded = needed.Where(n => Ignored(n.Include, patterns))
            .Select(n => $"{Path.GetRelativePath(s_root, n.Include)} (needed by {Path.GetFileName(n.Project)})").ToList();

        Assert.True(needed.Count >= 4, $"only {needed.Count} inputs found");
        Assert.Empty(excluded);
        foreach (string buildFile in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json", "build/TorchSharpNative.targets" })
            Assert.False(Ignored(Path.Combine(s_root, buildFile), patterns), $"{buildFile} is excluded from the build context");
        Assert.True(Ignored(Path.Combine(s_root, "tests", "PredGen.Infra.Tests"), patterns), "tests/ should stay out of the images' context");
    }
}
