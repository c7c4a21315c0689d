using PredGen.Shared.Data;
using PredGen.TestSupport;
using PredGen.Training.Data;
using PredGen.Tooling.Data;

namespace PredGen.Training.Tests.Data;

public sealed class DatasetDeterminismTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-data-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string> _tarballs;

    public DatasetDeterminismTests()
    {
        _tarballs = new Dictionary<string, string>
        {
            [RealDatasets.SpamAssassinPackage.Name] = DataFixtures.Tarball(_root, "spam.tgz", DataFixtures.SpamFiles()),
            [RealDatasets.SotuPackage.Name] = DataFixtures.Tarball(_root, "sotu.tgz", DataFixtures.SotuFiles()),
            [RealDatasets.CmuDictPackage.Name] = DataFixtures.Tarball(_root, "cmudict.tgz", DataFixtures.CmuDictFiles()),
        };
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private List<TaskDataset> Build() => DatasetFetcher.Build(RealDatasets.All, p => _tarballs[p.Name]).ToList();

    [Fact]
    public void Converting_the_same_tarballs_twice_writes_byte_identical_splits()
    {
        var first = Build().Select(d => DatasetWriter.Write(d, Path.Combine(_root, "a"))).ToList();
        var second = Build().Select(d => DatasetWriter.Write(d, Path.Combine(_root, "b"))).ToList();

        Assert.Equal(4, first.Count);
        Assert.Equal(first.Select(t => t.SplitsSha256), second.Select(t => t.SplitsSha256));
        foreach (var t in first)
            foreach (var split in new[] { "train", "validation", "test" })
                Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "a", t.Task, split + ".jsonl")), File.ReadAllBytes(Path.Combine(_root, "b", t.Task, split + ".jsonl")));
    }

    [Fact]
    public void Spam_keeps_subject_and_readable_body_and_removes_exact_duplicates_before_splitting()
    {
        var spam = Build().Single(d => d.Name == RealDatasets.Spam);
        var rows = spam.Splits.Values.SelectMany(r => r).ToList();

        Assert.Equal(45, spam.Statistics["raw_messages"]);
        Assert.Equal(1, spam.Statistics["exact_duplicates_removed"]);
        Assert.Equal(44, rows.Count);
        Assert.Equal(13, rows.Count(r => r.Label == "spam"));
        var leaking = rows.Select(r => r.Text).Where(t => t.Contains("Received", StringComparison.Ordinal) || t.Contains("@example", StringComparison.Ordinal)
            || t.Contains("[ILUG]", StringComparison.Ordinal) || t.Contains('<', StringComparison.Ordinal)).ToList();
        Assert.True(leaking.Count == 0, "headers, list tags or HTML left in: " + string.Join(" | ", leaking));
        Assert.Contains(rows, r => r.Text == "Subject: meeting notes 7\n\nHi all, notes number 7 follow.\nThanks");
        Assert.Contains(rows, r => r.Text == "Subject: café offer 3\n\nWIN money now 3");
        Assert.Contains(rows, r => r.Text == "Subject: plain latin\n\nnaïve café deal continues");
        Assert.Equal([35, 4, 5], [.. new[] { SplitName.Train, SplitName.Validation, SplitName.Test }.Select(s => spam.Splits[s].Count)]);
    }

    [Fact]
    public void State_of_the_union_is_split_by_speech_so_no_speech_has_chunks_in_two_splits()
    {
        var all = Build();
        var year = all.Single(d => d.Name == RealDatasets.SotuYear);
        var party = all.Single(d => d.Name == RealDatasets.SotuParty);

        static string Speech(PreparedRow r) => r.Id[..r.Id.LastIndexOf("-c", StringComparison.Ordinal)];
        var splitsPerSpeech = year.Splits.SelectMany(kv => kv.Value.Select(r => (Speech: Speech(r), kv.Key))).GroupBy(x => x.Speech)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Key).Distinct().Count());
        Assert.Equal(20, splitsPerSpeech.Count);
        Assert.All(splitsPerSpeech.Values, n => Assert.Equal(1, n));
        Assert.Equal([16, 2, 2], [.. new[] { SplitName.Train, SplitName.Validation, SplitName.Test }.Select(s => year.Splits[s].Select(Speech).Distinct().Count())]);
        // Speech s has 300 + 7s words; a tail under 64 words joins the previous chunk: 2 chunks for s < 3, else 3.
        Assert.Equal(3 * 2 + 17 * 3, year.Statistics["rows"]);
        Assert.All(year.Splits.Values.SelectMany(r => r), r => Assert.InRange(r.Value!.Value, 1850, 1945));
        Assert.All(party.Splits.Values.SelectMany(r => r), r => Assert.True(r.Label is "Democratic" or "Republican"));
        Assert.Equal(16, party.Statistics["speeches"]);
        foreach (var split in party.Splits)
            Assert.All(split.Value, r => Assert.Contains(year.Splits[split.Key], y => y.Id == r.Id));
    }

    [Fact]
    public void Syllables_counts_stressed_phones_of_the_first_pronunciation_and_skips_alternates_and_symbols()
    {
        var syllables = Build().Single(d => d.Name == RealDatasets.Syllables);
        var rows = syllables.Splits.Values.SelectMany(r => r).ToDictionary(r => r.Id);

        Assert.Equal(3, rows["abandon"].Value);
        Assert.Equal(1, rows["cat"].Value);
        Assert.Equal(3, rows["elephant"].Value);
        Assert.Equal(3, rows["o'brien"].Value);
        Assert.Equal(64, rows.Count);
        Assert.Equal(1, syllables.Statistics["alternate_pronunciations_skipped"]);
        Assert.DoesNotContain(rows.Keys, k => k.StartsWith('!'));
    }

    [Fact]
    public void Committed_demo_files_match_the_hashes_in_their_manifest()
    {
        string demo = Path.Combine(TestPaths.RepositoryRoot(), "data", "demo");
        var manifest = System.Text.Json.JsonSerializer.Deserialize<DatasetWriter.Manifest>(File.ReadAllText(Path.Combine(demo, "manifest.json")))!;

        Assert.Equal(RealDatasets.All, manifest.Tasks.Select(t => t.Task));
        foreach (var task in manifest.Tasks)
            foreach (var (split, info) in task.Splits)
            {
                string path = Path.Combine(demo, task.Task, split + ".jsonl");
                Assert.Equal(info.Sha256, DeterministicSplit.FileHash(path));
                Assert.Equal(info.Rows, PreparedRow.ReadJsonl(path).Count);
            }
    }
}
