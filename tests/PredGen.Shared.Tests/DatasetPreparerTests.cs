using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Shared.Storage;

namespace PredGen.Shared.Tests;

public sealed class DatasetPreparerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-prepare-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FileSystemArtifactStore _store;

    public DatasetPreparerTests() => _store = new FileSystemArtifactStore(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string Review(int i) => $"review {i}: the film was {(i % 2 == 0 ? "wonderful" : "dull")}";

    private static string Json(string text, object label) =>
        JsonSerializer.Serialize(new Dictionary<string, object> { ["text"] = text, ["label"] = label });

    private async Task<string> UploadAsync(string file, string content)
    {
        string path = BlobLayout.Dataset("reviews", file);
        await _store.WriteTextAsync(path, content);
        return path;
    }

    private async Task<List<string>> ReadLinesAsync(string path) =>
        ((await _store.ReadTextAsync(path)) ?? throw new FileNotFoundException(path)).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    private async Task<List<RejectedRow>> RejectedAsync(string runId) =>
        (await ReadLinesAsync(BlobLayout.Rejected("reviews", runId))).Select(RejectedRow.FromJsonLine).ToList();

    private async Task<int> PreparedCountAsync(string runId)
    {
        int n = 0;
        foreach (var split in DatasetSplit.All) n += (await ReadLinesAsync(BlobLayout.Prepared("reviews", runId, split))).Count;
        return n;
    }

    private async Task<string> HashOutputsAsync(string runId)
    {
        var all = new StringBuilder();
        foreach (var path in await _store.ListAsync(BlobLayout.Run("reviews", runId) + "/prepared/"))
            all.Append(path[path.LastIndexOf('/')..]).Append('=').Append(Convert.ToHexString(SHA256.HashData((await _store.ReadAsync(path))!.Content.ToArray()))).Append('\n');
        return all.ToString();
    }

    [Theory]
    [InlineData("empty.csv", "")]
    [InlineData("empty.jsonl", "")]
    [InlineData("header-only.csv", "text,label\n")]
    [InlineData("blank-lines.jsonl", "\n\n   \n")]
    public async Task An_empty_file_fails_naming_the_file_and_still_writes_stats_and_an_empty_rejected_file(string file, string content)
    {
        string path = await UploadAsync(file, content);

        var e = await Assert.ThrowsAsync<DatasetRejectedException>(() => DatasetPreparer.PrepareAsync(_store, "reviews", "r1", path));

        Assert.Contains("datasets/reviews/" + file, e.Message, StringComparison.Ordinal);
        Assert.Contains("no data rows", e.Message, StringComparison.Ordinal);
        var stats = DatasetStats.FromJson((await _store.ReadTextAsync(BlobLayout.PreparedStats("reviews", "r1")))!);
        Assert.Equal(0, stats.InputRows);
        Assert.Equal(e.Message, stats.Failure);
        Assert.Empty(await RejectedAsync("r1"));
        Assert.False(await _store.ExistsAsync(BlobLayout.Prepared("reviews", "r1", DatasetSplit.Train)));
    }

    [Fact]
    public async Task A_file_with_30_percent_malformed_rows_succeeds_and_reports_every_rejected_row_with_its_line_and_reason()
    {
        // 100 rows: 70 good, 30 bad of six kinds (5 each), in a fixed interleaving.
        string[] bad =
        [
            "{\"text\": \"unterminated", // malformed_json
            "[1, 2, 3]",                 // malformed_json (not an object)
            "{\"label\": \"pos\"}",      // missing_field (no text)
            "{\"text\": 42, \"label\": \"pos\"}", // wrong_type
            "{\"text\": \"   \", \"label\": \"neg\"}", // empty_text
            "{\"text\": \"no label here {0}\", \"label\": \"\"}", // empty_label
        ];
        var lines = new List<string>();
        var expectedBadLines = new Dictionary<int, string>();
        int good = 0, badCount = 0;
        for (int line = 1; line <= 100; line++)
        {
            if (line % 10 is 3 or 6 or 9 && badCount < 30)
            {
                string template = bad[badCount % bad.Length];
                lines.Add(template.Replace("{0}", line.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
                expectedBadLines[line] = template;
                badCount++;
            }
            else lines.Add(Json(Review(good), good++ % 2 == 0 ? "pos" : "neg"));
        }
        Assert.Equal((70, 30), (good, badCount));
        string path = await UploadAsync("malformed.jsonl", string.Join("\n", lines) + "\n");

        var prepared = await DatasetPreparer.PrepareAsync(_store, "reviews", "r1", path);

        var rejected = await RejectedAsync("r1");
        Assert.Equal(30, rejected.Count);
        Assert.Equal(70, prepared.TrainRows + prepared.ValidationRows + prepared.TestRows);
        Assert.Equal(100, prepared.Stats!.InputRows);
        Assert.Equal(100, await PreparedCountAsync("r1") + rejected.Count); // nothing lost
        Assert.Equal(expectedBadLines.Keys.Order(), rejected.Select(r => (int)r.Line));
        Assert.All(rejected, r => Assert.Equal(lines[(int)r.Line - 1], r.Raw));
        Assert.All(rejected, r => Assert.Equal(path, r.File));
        Assert.Equal(new Dictionary<string, int>
        {
            [RejectReason.EmptyLabel] = 5, [RejectReason.EmptyText] = 5, [RejectReason.MalformedJson] = 10,
            [RejectReason.MissingField] = 5, [RejectReason.WrongType] = 5,
        }, prepared.RejectedByReason);
        Assert.Equal(TaskKind.Classification, prepared.Kind);
        Assert.Equal(["neg", "pos"], prepared.Labels);
    }

    [Fact]
    public async Task A_csv_file_with_30_percent_malformed_rows_succeeds_and_reports_each_with_the_line_where_it_starts()
    {
        // 100 records, 30 bad of five kinds; every good record spans two lines (an embedded line break), so record
        // numbers and line numbers differ and the reported line must be the physical one.
        string[] bad =
        [
            "one,two,three",                 // malformed_csv: field count
            "stray \"quote,pos",             // malformed_csv: a quote inside an unquoted field
            "\"closed\" trailing,neg",        // malformed_csv: text after the closing quote
            "\"   \",pos",                     // empty_text
            "\"no label\",",                   // empty_label
        ];
        var lines = new List<string> { "text,label" };
        var expected = new List<(long Line, string Reason)>();
        int good = 0, badCount = 0;
        for (int record = 1; record <= 100; record++)
        {
            if (record % 10 is 2 or 5 or 8 && badCount < 30)
            {
                string raw = bad[badCount % bad.Length];
                expected.Add((lines.Sum(l => l.Split('\n').Length) + 1, (badCount % bad.Length) switch { < 3 => RejectReason.MalformedCsv, 3 => RejectReason.EmptyText, _ => RejectReason.EmptyLabel }));
                lines.Add(raw);
                badCount++;
            }
            else
            {
                lines.Add($"\"{Review(good)}\nsecond line\",{(good % 2 == 0 ? "pos" : "neg")}");
                good++;
            }
        }
        string content = string.Join("\n", lines) + "\n";
        string path = await UploadAsync("malformed.csv", content);

        var prepared = await DatasetPreparer.PrepareAsync(_store, "reviews", "r1", path);

        var rejected = await RejectedAsync("r1");
        Assert.Equal((70, 30), (good, badCount));
        Assert.Equal(expected, rejected.Select(r => (r.Line, r.Reason)));
        Assert.Equal(100, prepared.Stats!.InputRows);
        Assert.Equal(100, await PreparedCountAsync("r1") + rejected.Count); // nothing lost
        Assert.All(rejected, r => Assert.Equal(content.Split('\n')[(int)r.Line - 1], r.Raw));
    }

    [Fact]
    public async Task A_lone_surrogate_escape_quarantines_its_row_naming_the_field_and_the_rest_of_the_file_is_prepared()
    {
        var lines = Enumerable.Range(0, 200).Select(i => Json(Review(i), i % 2 == 0 ? "pos" : "neg")).ToList();
        lines[4] = "{\"text\": \"broken \\ud800 half\", \"label\": \"pos\"}";
        lines[9] = "{\"text\": \"fine\", \"text_b\": \"\\udc01\", \"label\": \"neg\"}";
        lines[14] = "{\"text\": \"fine too\", \"label\": \"\\ud83d\"}";
        string path = await UploadAsync("surrogates.jsonl", string.Join("\n", lines) + "\n");

        var prepared = await DatasetPreparer.PrepareAsync(_store, "reviews", "r1", path);

        var rejected = await RejectedAsync("r1");
        Assert.Equal([5L, 10L, 15L], rejected.Select(r => r.Line));
        Assert.All(rejected, r => Assert.Equal(RejectReason.MalformedJson, r.Reason));
        Assert.Equal(["text", "text_b", "label"], rejected.Select(r => r.Detail.Split('\'')[1]));
        Assert.All(rejected, r => Assert.Contains("surrogate", r.Detail, StringComparison.Ordinal));
        Assert.Equal(lines[4], rejected[0].Raw);
        Assert.Equal(200, await PreparedCountAsync("r1") + rejected.Count); // nothing lost
        Assert.Equal(197, prepared.TrainRows + prepared.ValidationRows + prepared.TestRows);
    }

    [Fact]
    public async Task A_file_with_a_single_class_fails_naming_the_file_and_the_class_and_loses_no_row()
    {
        var lines = Enumerable.Range(0, 40).Select(i => Json(Review(i), "positive")).Append("{broken").ToList();
        string path = await UploadAsync("one-class.jsonl", string.Join("\n", lines));

        var e = await Assert.ThrowsAsync<DatasetRejectedException>(() => DatasetPreparer.PrepareAsync(_store, "reviews", "r1", path));

        Assert.Contains("datasets/reviews/one-class.jsonl", e.Message, StringComparison.Ordinal);
        Assert.Contains("at least two classes", e.Message, StringComparison.Ordinal);
        Assert.Contains("'positive'", e.Message, StringComparison.Ordinal);
        Assert.Contains("malformed_json: 1", e.Message, StringComparison.Ordinal);
        Assert.Equal((41, 0, 1, 40), (e.Stats!.InputRows, e.Stats.PreparedRows, e.Stats.RejectedRows, e.Stats.UnsplitRows));
        Assert.Single(await RejectedAsync("r1"));
    }

    [Fact]
    public async Task Too_few_usable_rows_fail_with_the_counts_by_reason()
    {
        var lines = Enumerable.Range(0, 6).Select(i => Json(Review(i), i % 2 == 0 ? "pos" : "neg")).Concat(["oops", "oops"]).ToList();
        string path = await UploadAsync("tiny.jsonl", string.Join("\n", lines));

        var e = await Assert.ThrowsAsync<DatasetRejectedException>(() => DatasetPreparer.PrepareAsync(_store, "reviews", "r1", path));

        Assert.Contains("datasets/reviews/tiny.jsonl: too few usable rows: 6, at least 10", e.Message, StringComparison.Ordinal);
        Assert.Contains("8 row(s) read, 6 usable, 2 rejected (malformed_json: 2)", e.Message, StringComparison.Ordinal);
        Assert.Contains(BlobLayout.Rejected("reviews", "r1"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_input_twice_gives_byte_identical_outputs()
    {
        string content = string.Join("\n", Enumerable.Range(0, 300).Select(i => Json(Review(i), i % 3 == 0 ? "neg" : "pos")));
        string path = await UploadAsync("same.jsonl", content);

        await DatasetPreparer.PrepareAsync(_store, "reviews", "first", path);
        await DatasetPreparer.PrepareAsync(_store, "reviews", "second", path);

        string first = await HashOutputsAsync("first");
        Assert.Equal(5, first.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // 3 splits + stats + rejected
        Assert.Equal(first, await HashOutputsAsync("second"));
    }

    [Fact]
    public void Adding_rows_never_moves_an_existing_row_to_another_split()
    {
        string Rows(int n) => string.Join("\n", Enumerable.Range(0, n).Select(i => Json(Review(i), i % 2 == 0 ? "pos" : "neg")));
        var before = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(Rows(200))), "a.jsonl");
        var after = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(Rows(1000))), "a.jsonl");

        var splitBefore = before.Splits.SelectMany(kv => kv.Value.Select(r => (r.Id, kv.Key))).ToDictionary(x => x.Id, x => x.Key);
        var splitAfter = after.Splits.SelectMany(kv => kv.Value.Select(r => (r.Id, kv.Key))).ToDictionary(x => x.Id, x => x.Key);
        Assert.Equal(200, splitBefore.Count);
        Assert.Equal(1000, splitAfter.Count);
        Assert.All(splitBefore, kv => Assert.Equal(kv.Value, splitAfter[kv.Key]));
        // And the buckets follow the fractions (80/10/10) within sampling noise.
        Assert.InRange(after.Stats.Splits[DatasetSplit.Train].Rows, 750, 850);
        Assert.InRange(after.Stats.Splits[DatasetSplit.Test].Rows, 65, 135);
    }

    [Fact]
    public async Task Csv_and_jsonl_with_the_same_rows_prepare_to_identical_splits_including_quotes_commas_and_newlines()
    {
        var rows = Enumerable.Range(0, 60).Select(i => (Text: (i % 5) switch
        {
            0 => $"plain {i}",
            1 => $"with, comma {i}",
            2 => $"with \"quotes\" {i}",
            3 => $"two\nlines {i}",
            _ => $"ünïcödé ✓ {i}",
        }, Label: i % 2 == 0 ? "pos" : "neg")).ToList();
        static string Csv(string s) => "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        string csv = "text,label\r\n" + string.Concat(rows.Select(r => Csv(r.Text) + "," + r.Label + "\r\n"));
        string jsonl = string.Join("\n", rows.Select(r => Json(r.Text, r.Label)));

        await DatasetPreparer.PrepareAsync(_store, "reviews", "csv", await UploadAsync("d.csv", csv));
        await DatasetPreparer.PrepareAsync(_store, "reviews", "jsonl", await UploadAsync("d.jsonl", jsonl));

        foreach (var split in DatasetSplit.All)
            Assert.Equal(await _store.ReadTextAsync(BlobLayout.Prepared("reviews", "jsonl", split)), await _store.ReadTextAsync(BlobLayout.Prepared("reviews", "csv", split)));
        Assert.Equal(60, await PreparedCountAsync("csv"));
        var all = DatasetSplit.All.SelectMany(s => PreparedRow.ReadJsonl(Path.Combine(_root, BlobLayout.Prepared("reviews", "csv", s)))).ToList();
        Assert.Contains(all, r => r.Text == "two\nlines 3");
        Assert.Contains(all, r => r.Text == "with \"quotes\" 2");
    }

    [Fact]
    public void Malformed_csv_records_are_rejected_with_the_line_where_they_start_counting_embedded_newlines()
    {
        string csv = string.Join("\n",
            "text,label",                 // line 1
            "\"first\nsecond\",pos",      // lines 2-3
            "too,many,fields",            // line 4: field count
            "ok row,neg",                 // line 5
            "bad \"quote,pos",            // line 6: stray quote
            "\"closed\" trailing,neg",     // line 7: text after closing quote
            "last,pos");                  // line 8
        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "x.csv", new DatasetPreparationOptions { MinRows = 1, MinExamplesPerClass = 1 });

        Assert.Equal([(4L, RejectReason.MalformedCsv), (6L, RejectReason.MalformedCsv), (7L, RejectReason.MalformedCsv)], output.Rejected.Select(r => (r.Line, r.Reason)));
        Assert.Equal("too,many,fields", output.Rejected[0].Raw);
        Assert.Equal(6, output.Stats.InputRows);
        Assert.Equal(3, output.Stats.PreparedRows + output.Stats.UnsplitRows);
    }

    [Fact]
    public void Duplicates_keep_the_first_row_and_conflicting_labels_reject_every_occurrence()
    {
        var lines = new List<string> { Json("same", "pos"), Json("same", "pos"), Json("clash", "pos"), Json("clash", "neg") };
        lines.AddRange(Enumerable.Range(0, 40).Select(i => Json(Review(i), i % 2 == 0 ? "pos" : "neg")));

        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines))), "d.jsonl");

        Assert.Equal([(2L, RejectReason.Duplicate), (3L, RejectReason.ConflictingLabels), (4L, RejectReason.ConflictingLabels)], output.Rejected.Select(r => (r.Line, r.Reason)));
        Assert.Contains("line 1", output.Rejected[0].Detail, StringComparison.Ordinal);
        Assert.Single(output.Splits.Values.SelectMany(s => s), r => r.Text == "same");
        Assert.DoesNotContain(output.Splits.Values.SelectMany(s => s), r => r.Text == "clash");
    }

    [Fact]
    public void Numeric_labels_make_a_regression_task_with_an_inferred_number_format_and_non_finite_labels_are_rejected()
    {
        var lines = Enumerable.Range(0, 50).Select(i => Json(Review(i), Math.Round(i * 0.37 - 3, 2))).ToList();
        lines.Add("{\"text\":\"nan label\",\"label\":\"NaN\"}");
        lines.Add("{\"text\":\"inf label\",\"label\":\"-Infinity\"}");
        lines.Add("{\"text\":\"string number\",\"label\":\"4.5\"}");

        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines))), "d.jsonl");

        Assert.Equal(TaskKind.Regression, output.Stats.Kind);
        Assert.Equal("inferred", output.Stats.KindSource);
        Assert.Equal(new NumberFormat(HasSign: true, IntegerDigits: 2, Decimals: 2), output.Stats.NumberFormat);
        Assert.Equal([RejectReason.NonFiniteLabel, RejectReason.NonFiniteLabel], output.Rejected.Select(r => r.Reason));
        Assert.Equal(51, output.Stats.PreparedRows);
        var values = output.Splits.Values.SelectMany(s => s).Select(r => r.Value!.Value).ToList();
        Assert.Equal(-3, values.Min(), 9);
        Assert.Contains(4.5, values);
        var train = output.Stats.Splits[DatasetSplit.Train].Values!;
        Assert.InRange(train.Mean, train.Min, train.Max);
    }

    [Fact]
    public void One_word_label_among_hundreds_of_numbers_is_quarantined_and_the_file_stays_a_regression_task()
    {
        var lines = Enumerable.Range(0, 300).Select(i => Json(Review(i), Math.Round(i * 0.1, 1))).ToList();
        lines.Insert(41, Json("a row someone forgot to score", "n/a")); // line 42

        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines))), "scores.jsonl");

        Assert.Equal(TaskKind.Regression, output.Stats.Kind);
        var odd = Assert.Single(output.Rejected);
        Assert.Equal((42L, RejectReason.NonNumericLabel), (odd.Line, odd.Reason));
        Assert.Contains("'n/a'", odd.Detail, StringComparison.Ordinal);
        Assert.Equal(300, output.Stats.PreparedRows);
        Assert.Equal(1, output.Stats.RejectedByReason[RejectReason.NonNumericLabel]);
    }

    [Fact]
    public void A_label_column_of_distinct_ids_is_rejected_for_too_many_classes_naming_the_count_and_losing_no_row()
    {
        var lines = Enumerable.Range(0, 400).Select(i => Json(Review(i), $"user-{i:D4}")).ToList();

        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines))), "ids.jsonl");

        Assert.NotNull(output.Stats.Failure);
        Assert.Contains("400 classes", output.Stats.Failure, StringComparison.Ordinal);
        Assert.Contains($"at most {new DatasetPreparationOptions().MaxClasses}", output.Stats.Failure, StringComparison.Ordinal);
        Assert.Contains("MaxClasses", output.Stats.Failure, StringComparison.Ordinal);
        Assert.Equal((400, 0, 400), (output.Stats.InputRows, output.Stats.PreparedRows, output.Stats.UnsplitRows)); // nothing lost: all unsplit
    }

    [Fact]
    public void A_numeric_outlier_too_long_to_write_is_quarantined_naming_the_limit_and_the_rest_keeps_a_short_format()
    {
        var lines = Enumerable.Range(0, 200).Select(i => Json(Review(i), i % 20)).ToList();
        lines.Insert(99, Json("a typo in the spreadsheet", 1e300)); // line 100

        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines))), "outlier.jsonl");

        Assert.Equal(TaskKind.Regression, output.Stats.Kind);
        var odd = Assert.Single(output.Rejected);
        Assert.Equal((100L, RejectReason.LabelOutOfRange), (odd.Line, odd.Reason));
        Assert.Contains("9 integer digits", odd.Detail, StringComparison.Ordinal);
        Assert.Equal(new NumberFormat(HasSign: false, IntegerDigits: 2, Decimals: 0), output.Stats.NumberFormat);
    }

    [Fact]
    public void Very_small_targets_get_decimals_from_their_scale_and_keep_their_significant_digits()
    {
        var lines = Enumerable.Range(1, 200).Select(i => Json(Review(i), Math.Round(i * 0.00001234, 8))).ToList();

        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines))), "small.jsonl");

        var format = output.Stats.NumberFormat!;
        Assert.Empty(output.Rejected);
        Assert.Equal(5, format.Decimals); // the largest is 0.002468: two leading zeros, then three significant decimals
        Assert.Equal("0.00012", format.Format(0.0001234));
        Assert.NotEqual(format.Format(0.0001234), format.Format(0.0002468));
    }

    [Fact]
    public void Told_classification_keeps_numeric_labels_as_classes_and_told_regression_rejects_words()
    {
        var lines = Enumerable.Range(0, 40).Select(i => Json(Review(i), i % 2)).Append(Json("worded", "high")).ToList();
        byte[] bytes = Encoding.UTF8.GetBytes(string.Join("\n", lines));

        var classification = DatasetPreparer.Prepare(new MemoryStream(bytes), "d.jsonl", new DatasetPreparationOptions { Kind = TaskKind.Classification });
        var regression = DatasetPreparer.Prepare(new MemoryStream(bytes), "d.jsonl", new DatasetPreparationOptions { Kind = TaskKind.Regression });

        Assert.Equal(["0", "1"], classification.Stats.Labels);
        Assert.Equal([RejectReason.RareClass], classification.Rejected.Select(r => r.Reason)); // "high" has 1 example
        Assert.Equal([RejectReason.NonNumericLabel], regression.Rejected.Select(r => r.Reason));
        Assert.Equal("given", regression.Stats.KindSource);
    }

    [Fact]
    public void Sentence_pairs_read_text_a_and_text_b_and_the_pair_is_the_duplicate_key()
    {
        string csv = "text_a,text_b,label\n" + string.Concat(Enumerable.Range(0, 30).Select(i => "premise " + (i % 15) + ",hypothesis " + i + "," + (i % 2 == 0 ? "entail" : "contradict") + "\n"));

        var output = DatasetPreparer.Prepare(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "pairs.csv");

        Assert.Empty(output.Rejected);
        Assert.Equal(30, output.Stats.RowsWithTextB);
        Assert.All(output.Splits.Values.SelectMany(s => s), r => Assert.StartsWith("hypothesis", r.TextB, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_prepared_dataset_round_trips_through_default_json_as_an_activity_output()
    {
        string path = await UploadAsync("rt.jsonl", string.Join("\n", Enumerable.Range(0, 40).Select(i => Json(Review(i), i % 2 == 0 ? "pos" : "neg"))));
        var prepared = await DatasetPreparer.PrepareAsync(_store, "reviews", "r1", path);

        string json = JsonSerializer.Serialize(prepared);
        var back = JsonSerializer.Deserialize<PreparedDataset>(json)!;

        Assert.Equal(json, JsonSerializer.Serialize(back));
        Assert.Equal(prepared.Stats!.ToJson(), back.Stats!.ToJson());
        Assert.Equal(["neg", "pos"], back.Labels);
    }
    [Fact]
    public async Task Prepared_output_is_streamed_to_the_store_never_held_whole_in_memory()
    {
        // 3,000 rows of about 760 characters: about 2.3 MB of prepared rows, all of them written through streams.
        var lines = Enumerable.Range(0, 3000).Select(i => Json(Review(i) + " " + new string((char)('a' + i % 26), 720), i % 2 == 0 ? "pos" : "neg"));
        string path = await UploadAsync("long.jsonl", string.Join("\n", lines) + "\n{\"text\": \"broken");
        var store = new NoLargeWholeWrites(_store, maxBytes: 64 * 1024);

        var prepared = await DatasetPreparer.PrepareAsync(store, "reviews", "r1", path);

        Assert.Equal(3000, prepared.TrainRows + prepared.ValidationRows + prepared.TestRows);
        Assert.Equal(3000, await PreparedCountAsync("r1"));
        Assert.InRange((await _store.ReadAsync(BlobLayout.Prepared("reviews", "r1", DatasetSplit.Train)))!.Content.ToMemory().Length, 1_500_000, 3_000_000);
        Assert.Equal(3001, Assert.Single(await RejectedAsync("r1")).Line);
        Assert.Empty(Directory.EnumerateFiles(_root, "*.tmp", SearchOption.AllDirectories)); // every stream committed (renamed into place)
    }

    /// <summary>A store on which writing an artifact whole from memory fails above <c>maxBytes</c>: large outputs must
    /// be streamed (OpenWriteAsync).</summary>
    private sealed class NoLargeWholeWrites(IArtifactStore inner, int maxBytes) : IArtifactStore
    {
        public string Location => inner.Location;
        public Task WriteAsync(string path, BinaryData content, CancellationToken ct = default) =>
            content.ToMemory().Length > maxBytes
                ? throw new InvalidOperationException($"{path}: {content.ToMemory().Length} bytes were held in memory and written whole")
                : inner.WriteAsync(path, content, ct);
        public Task<ArtifactWriteStream> OpenWriteAsync(string path, CancellationToken ct = default) => inner.OpenWriteAsync(path, ct);
        public Task<string> WriteIfMatchAsync(string path, BinaryData content, string? etag, CancellationToken ct = default) => inner.WriteIfMatchAsync(path, content, etag, ct);
        public Task<StoredArtifact?> ReadAsync(string path, CancellationToken ct = default) => inner.ReadAsync(path, ct);
        public Task<Stream?> OpenReadAsync(string path, CancellationToken ct = default) => inner.OpenReadAsync(path, ct);
        public Task<PinnedRead?> OpenReadPinnedAsync(string path, string? ifMatch, CancellationToken ct = default) => inner.OpenReadPinnedAsync(path, ifMatch, ct);
        public Task<bool> ExistsAsync(string path, CancellationToken ct = default) => inner.ExistsAsync(path, ct);
        public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public Task DeleteAsync(string path, CancellationToken ct = default) => inner.DeleteAsync(path, ct);
    }
}
