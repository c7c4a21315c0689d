using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using PredGen.Shared.Storage;

namespace PredGen.Shared.Data;

/// <summary>Knobs of <see cref="DatasetPreparer"/>; the defaults are what `predgen pipeline run` and the Functions app use.</summary>
public sealed record DatasetPreparationOptions
{
    /// <summary>The task kind; null infers it: every usable label numeric -> regression, otherwise classification.</summary>
    public TaskKind? Kind { get; init; }
    /// <summary>Null: from the file extension (.jsonl/.ndjson/.json, .csv, .tsv), else from the first byte ('{' = JSONL).</summary>
    public DatasetFormat? Format { get; init; }
    public SplitFractions Fractions { get; init; } = SplitFractions.Default;
    /// <summary>Fewer usable rows than this fails the run.</summary>
    public int MinRows { get; init; } = 10;
    /// <summary>A class with fewer examples than this cannot be split train/validation/test: its rows are rejected.</summary>
    public int MinExamplesPerClass { get; init; } = 3;
    /// <summary>Most decimals a regression number format keeps (<see cref="NumberFormat.Infer"/>).</summary>
    public int MaxDecimals { get; init; } = 3;
}

/// <summary>The outcome of a successful preparation; small enough to travel through orchestration history.</summary>
public sealed record PreparedDataset
{
    public required string Task { get; init; }
    public required string RunId { get; init; }
    public required TaskKind Kind { get; init; }
    /// <summary>Classification: the label set (ordinal order).</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>Regression: the targets' digit format.</summary>
    public NumberFormat? NumberFormat { get; init; }
    public int TrainRows { get; init; }
    public int ValidationRows { get; init; }
    public int TestRows { get; init; }
    public int RejectedRows { get; init; }
    public IReadOnlyDictionary<string, int> RejectedByReason { get; init; } = new Dictionary<string, int>();
    /// <summary>train / validation / test -> artifact path.</summary>
    public IReadOnlyDictionary<string, string> SplitPaths { get; init; } = new Dictionary<string, string>();
    public string? StatsPath { get; init; }
    public string? RejectedPath { get; init; }
    /// <summary>The full stats.json (data-quality section of the report).</summary>
    public DatasetStats? Stats { get; init; }
}

/// <summary>The data cannot train a model (empty, one class, too few usable rows); the message names the file and the
/// counts by reason. stats.json and rejected.jsonl are written before it is thrown.</summary>
public sealed class DatasetRejectedException : Exception
{
    public DatasetRejectedException() { }
    public DatasetRejectedException(string message) : base(message) { }
    public DatasetRejectedException(string message, Exception inner) : base(message, inner) { }
    public DatasetRejectedException(string message, DatasetStats stats) : base(message) => Stats = stats;

    public DatasetStats? Stats { get; }
}

/// <summary>Everything a preparation produced, before it is written anywhere (the pure part, for tests and tools).
/// <see cref="DatasetStats.Failure"/> is set when the data cannot be used.</summary>
public sealed record PreparationOutput(
    IReadOnlyDictionary<string, IReadOnlyList<PreparedRow>> Splits,
    IReadOnlyList<RejectedRow> Rejected,
    DatasetStats Stats);

/// <summary>
/// Turns an uploaded JSONL/CSV file into prepared train/validation/test JSONL (docs/DATA.md): validates every row,
/// quarantines the unusable ones with a reason (never drops one silently), infers the task kind and the label set or
/// number format, splits deterministically by a hash of the text, and records statistics.
/// </summary>
public static class DatasetPreparer
{
    private const int Buckets = 10_000;

    /// <summary>Reads <paramref name="datasetPath"/> (datasets/{task}/{file}) from the store as a stream and writes
    /// prepared/{split}.jsonl, stats.json and rejected.jsonl through it (BlobLayout.Prepared/PreparedStats/Rejected).
    /// When the data cannot be used, stats.json and rejected.jsonl are still written, then
    /// <see cref="DatasetRejectedException"/> is thrown with a message that names the file and the counts by reason.</summary>
    public static async Task<PreparedDataset> PrepareAsync(IArtifactStore store, string task, string runId, string datasetPath,
        DatasetPreparationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(datasetPath);
        string statsPath = BlobLayout.PreparedStats(task, runId);
        string rejectedPath = BlobLayout.Rejected(task, runId);

        PreparationOutput data;
        await using (var stream = await store.OpenReadAsync(datasetPath, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"{datasetPath}: no such dataset in {store.Location}", datasetPath))
        {
            data = Prepare(stream, datasetPath, options, rejectedPath, cancellationToken);
        }

        var splitPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        if (data.Stats.Failure == null)
        {
            foreach (var split in DatasetSplit.All)
            {
                string path = BlobLayout.Prepared(task, runId, split);
                await store.WriteAsync(path, JsonLines(data.Splits[split].Select(r => r.ToJsonLine())), cancellationToken).ConfigureAwait(false);
                splitPaths[split] = path;
            }
        }
        await store.WriteAsync(rejectedPath, JsonLines(data.Rejected.Select(r => r.ToJsonLine())), cancellationToken).ConfigureAwait(false);
        await store.WriteAsync(statsPath, BinaryData.FromString(data.Stats.ToJson()), cancellationToken).ConfigureAwait(false);

        var s = data.Stats;
        if (s.Failure != null) throw new DatasetRejectedException(s.Failure, s);
        return new PreparedDataset
        {
            Task = task,
            RunId = runId,
            Kind = s.Kind!.Value,
            Labels = s.Labels,
            NumberFormat = s.NumberFormat,
            TrainRows = s.Splits[DatasetSplit.Train].Rows,
            ValidationRows = s.Splits[DatasetSplit.Validation].Rows,
            TestRows = s.Splits[DatasetSplit.Test].Rows,
            RejectedRows = s.RejectedRows,
            RejectedByReason = s.RejectedByReason,
            SplitPaths = splitPaths,
            StatsPath = statsPath,
            RejectedPath = rejectedPath,
            Stats = s,
        };
    }

    /// <summary>The pure preparation of one file read from <paramref name="input"/>; <paramref name="source"/> names it
    /// in every message and rejected row. <paramref name="rejectedPath"/> only goes into the failure message.</summary>
    public static PreparationOutput Prepare(Stream input, string source, DatasetPreparationOptions? options = null, string? rejectedPath = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(source);
        options ??= new DatasetPreparationOptions();
        Validate(options);

        var format = options.Format ?? DatasetRecordReader.Detect(source, input, out input);
        var rejected = new List<RejectedRow>();
        var candidates = new List<SourceRecord>();
        int inputRows = 0;
        foreach (var record in DatasetRecordReader.Read(format, input))
        {
            if ((++inputRows & 0xFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            if (record.Reason != null) { rejected.Add(Reject(source, record, record.Reason, record.Detail!)); continue; }
            string text = record.Text!.Trim();
            if (text.Length == 0) { rejected.Add(Reject(source, record, RejectReason.EmptyText, "the text is empty")); continue; }
            string label = record.Label!.Value.Text.Trim();
            if (label.Length == 0) { rejected.Add(Reject(source, record, RejectReason.EmptyLabel, "the label is empty")); continue; }
            candidates.Add(record with { Text = text, TextB = record.TextB?.Trim() is { Length: > 0 } b ? b : null, Label = record.Label.Value with { Text = label } });
        }

        // The kind: as given, or regression when every usable label is a number (docs/DATA.md).
        string kindSource = options.Kind.HasValue ? "given" : "inferred";
        int numeric = candidates.Count(c => c.Label!.Value.LooksNumeric);
        TaskKind? kind = options.Kind ?? (candidates.Count == 0 ? null : numeric == candidates.Count ? TaskKind.Regression : TaskKind.Classification);

        // Label values per kind.
        var rows = new List<Row>(candidates.Count);
        foreach (var c in candidates)
        {
            var label = c.Label!.Value;
            bool isNumber = label.TryNumber(out double value);
            if (isNumber && !double.IsFinite(value)) { rejected.Add(Reject(source, c, RejectReason.NonFiniteLabel, $"the label '{label.Text}' is not a finite number")); continue; }
            if (kind == TaskKind.Regression && !isNumber) { rejected.Add(Reject(source, c, RejectReason.NonNumericLabel, $"regression needs a numeric label, found '{label.Text}'")); continue; }
            byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(c.TextB == null ? c.Text! : c.Text + "\u001f" + c.TextB));
            rows.Add(new Row(c, hash, kind == TaskKind.Regression ? null : label.Text, kind == TaskKind.Regression ? value : 0));
        }

        // Duplicates: the first occurrence of a text (+ text_b) wins; conflicting labels reject every occurrence.
        var kept = new List<Row>(rows.Count);
        var firstByKey = new Dictionary<string, Row>(StringComparer.Ordinal);
        var conflicted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!firstByKey.TryGetValue(row.Key, out var first)) { firstByKey[row.Key] = row; continue; }
            if (SameLabel(first, row)) rejected.Add(Reject(source, row.Record, RejectReason.Duplicate, $"same text as line {first.Record.Line} with the same label"));
            else conflicted.Add(row.Key);
        }
        foreach (var row in rows)
        {
            if (conflicted.Contains(row.Key))
            {
                var first = firstByKey[row.Key];
                bool isFirst = ReferenceEquals(first, row);
                bool isDuplicateOfFirst = !isFirst && SameLabel(first, row);
                // A later exact duplicate was already rejected as such; every other occurrence goes as a conflict.
                if (!isDuplicateOfFirst)
                    rejected.Add(Reject(source, row.Record, RejectReason.ConflictingLabels, $"the same text has different labels (first at line {first.Record.Line})"));
            }
            else if (ReferenceEquals(firstByKey[row.Key], row)) kept.Add(row);
        }

        // Classes too small to split.
        if (kind == TaskKind.Classification)
        {
            var counts = kept.GroupBy(r => r.Label!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var rare = counts.Where(kv => kv.Value < options.MinExamplesPerClass).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            if (rare.Count > 0 && rare.Count < counts.Count)
            {
                foreach (var row in kept.Where(r => rare.Contains(r.Label!)))
                    rejected.Add(Reject(source, row.Record, RejectReason.RareClass,
                        $"class '{row.Label}' has {counts[row.Label!]} example(s), fewer than the {options.MinExamplesPerClass} needed to split it"));
                kept.RemoveAll(r => rare.Contains(r.Label!));
            }
        }

        rejected.Sort((a, b) => a.Line.CompareTo(b.Line));
        var splits = DatasetSplit.All.ToDictionary(s => s, _ => new List<Row>(), StringComparer.Ordinal);
        foreach (var row in kept) splits[SplitOf(row.Hash, options.Fractions)].Add(row);

        string? failure = Failure(source, format, inputRows, kept, splits, rejected, kind, numeric, candidates.Count, options, rejectedPath);
        var labels = kind == TaskKind.Classification && kept.Count > 0 ? kept.Select(r => r.Label!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList() : null;
        NumberFormat? numberFormat = kind == TaskKind.Regression && kept.Count > 0 ? NumberFormat.Infer(kept.Select(r => r.Value), options.MaxDecimals) : null;

        var stats = new DatasetStats
        {
            Source = source,
            Format = format,
            Kind = kind,
            KindSource = kindSource,
            InputRows = inputRows,
            PreparedRows = failure == null ? kept.Count : 0,
            RejectedRows = rejected.Count,
            UnsplitRows = failure == null ? 0 : kept.Count,
            RejectedByReason = new SortedDictionary<string, int>(rejected.GroupBy(r => r.Reason).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal),
            Splits = failure == null
                ? DatasetSplit.All.ToDictionary(s => s, s => SplitStatsOf(splits[s], kind!.Value, labels), StringComparer.Ordinal)
                : new Dictionary<string, SplitStats>(StringComparer.Ordinal),
            Labels = labels,
            NumberFormat = numberFormat,
            TextLength = TextLengthStats.Of(kept.Select(r => r.Record.Text!.Length).ToList()),
            RowsWithTextB = kept.Count(r => r.Record.TextB != null),
            Fractions = options.Fractions,
            Failure = failure,
        };
        var prepared = DatasetSplit.All.ToDictionary(
            s => s,
            s => failure == null ? (IReadOnlyList<PreparedRow>)splits[s].Select(r => r.ToPrepared()).ToList() : [],
            StringComparer.Ordinal);
        return new PreparationOutput(prepared, rejected, stats);
    }

    /// <summary>The split of a row from its hash: the first 8 bytes of SHA-256(text [+ U+001F + text_b]) modulo
    /// 10,000 buckets, compared with the fractions. A row's split depends on its own text only, so adding rows to a
    /// file never moves an existing row to another split.</summary>
    public static string SplitOf(string text, string? textB, SplitFractions fractions)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SplitOf(SHA256.HashData(Encoding.UTF8.GetBytes(textB == null ? text : text + "\u001f" + textB)), fractions);
    }

    private static string SplitOf(byte[] hash, SplitFractions fractions)
    {
        ulong bucket = BinaryPrimitives.ReadUInt64BigEndian(hash) % Buckets;
        if (bucket < (ulong)Math.Round(fractions.Train * Buckets)) return DatasetSplit.Train;
        if (bucket < (ulong)Math.Round((fractions.Train + fractions.Validation) * Buckets)) return DatasetSplit.Validation;
        return DatasetSplit.Test;
    }

    private static void Validate(DatasetPreparationOptions o)
    {
        if (o.Fractions.Train <= 0 || o.Fractions.Validation < 0 || o.Fractions.Test <= 0)
            throw new ArgumentException($"split fractions must leave train and test non-empty (train {o.Fractions.Train}, validation {o.Fractions.Validation}, test {o.Fractions.Test})", nameof(o));
        if (o.MinRows < 1 || o.MinExamplesPerClass < 1) throw new ArgumentException("MinRows and MinExamplesPerClass must be at least 1", nameof(o));
    }

    private static string? Failure(string source, DatasetFormat format, int inputRows, List<Row> kept, Dictionary<string, List<Row>> splits,
        List<RejectedRow> rejected, TaskKind? kind, int numericLabels, int labelled, DatasetPreparationOptions options, string? rejectedPath)
    {
        string Summary()
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $" {inputRows} row(s) read, {kept.Count} usable, {rejected.Count} rejected");
            if (rejected.Count > 0)
                text.Append(" (").Append(string.Join(", ", rejected.GroupBy(r => r.Reason).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => $"{g.Key}: {g.Count().ToString(CultureInfo.InvariantCulture)}"))).Append(')');
            text.Append('.');
            if (rejected.Count > 0 && rejectedPath != null) text.Append(" Rejected rows with line numbers: ").Append(rejectedPath).Append('.');
            return text.ToString();
        }

        if (inputRows == 0)
            return $"{source}: the file has no data rows (it is empty{(format == DatasetFormat.Jsonl ? "" : " or has only a header")}).{Summary()}";
        if (kept.Count < options.MinRows)
        {
            string hint = kind == TaskKind.Classification && labelled > 0 && numericLabels >= 0.9 * labelled
                ? $" {numericLabels} of {labelled} labels are numbers: if this is a regression task, say so (--kind regression)."
                : "";
            return $"{source}: too few usable rows: {kept.Count}, at least {options.MinRows} are needed.{Summary()}{hint}";
        }
        if (kind == TaskKind.Classification)
        {
            var classes = kept.Select(r => r.Label!).Distinct(StringComparer.Ordinal).ToList();
            if (classes.Count < 2)
                return $"{source}: classification needs at least two classes, but every usable row has the label '{classes[0]}'.{Summary()}";
        }
        foreach (var split in DatasetSplit.All)
            if (splits[split].Count == 0 && (split != DatasetSplit.Validation || options.Fractions.Validation > 0))
                return $"{source}: the {split} split is empty: {kept.Count} usable rows are too few for the fractions " +
                    $"{options.Fractions.Train}/{options.Fractions.Validation}/{options.Fractions.Test}; add rows.{Summary()}";
        return null;
    }

    private static SplitStats SplitStatsOf(List<Row> rows, TaskKind kind, IReadOnlyList<string>? labels) => kind == TaskKind.Classification
        ? new SplitStats(rows.Count, labels!.ToDictionary(l => l, l => rows.Count(r => r.Label == l), StringComparer.Ordinal), null)
        : new SplitStats(rows.Count, null, ValueStats.Of(rows.Select(r => r.Value).ToList()));

    private static bool SameLabel(Row a, Row b) => a.Label != null ? string.Equals(a.Label, b.Label, StringComparison.Ordinal) : a.Value.Equals(b.Value);

    private static RejectedRow Reject(string source, SourceRecord record, string reason, string detail) => new(source, record.Line, reason, detail, record.Raw);

    private static BinaryData JsonLines(IEnumerable<string> lines)
    {
        var buffer = new MemoryStream();
        using (var writer = new StreamWriter(buffer, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" })
            foreach (var line in lines) writer.WriteLine(line);
        return new BinaryData(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    private sealed record Row(SourceRecord Record, byte[] Hash, string? Label, double Value)
    {
        public string Key { get; } = Convert.ToHexString(Hash);

        /// <summary>The id is the text's hash prefix: stable across uploads, identical for CSV and JSONL input.</summary>
        public PreparedRow ToPrepared()
        {
            string id = Key[..16].ToLowerInvariant();
            return Label != null ? PreparedRow.Classification(id, Record.Text!, Label, Record.TextB) : PreparedRow.Regression(id, Record.Text!, Value, Record.TextB);
        }
    }
}
