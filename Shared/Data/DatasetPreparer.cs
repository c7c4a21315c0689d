using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
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
    public int MaxDecimals { get; init; } = NumberFormat.DefaultMaxDecimals;

    /// <summary>Classification: the most classes a task may have. Every request scores every label, so a label column of
    /// ids or free text (as many classes as rows) is refused with its count instead of making a task nobody can serve.</summary>
    public int MaxClasses { get; init; } = 100;

    /// <summary>Regression: the most integer digits a target may have. The model writes answers digit by digit, so a
    /// stray 1e300 would make every answer 301 digits long: such rows are quarantined as label_out_of_range.</summary>
    public int MaxIntegerDigits { get; init; } = 9;
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

    /// <summary>The decision every training job of the run answers with (<see cref="Labels"/>, <see cref="NumberFormat"/>).</summary>
    [JsonIgnore]
    public AnswerFormat AnswerFormat => new() { Labels = Labels, NumberFormat = NumberFormat };

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
    /// <remarks>The file is read twice as a stream (once to decide, once to write), and the output is streamed to the
    /// store as it is written, so memory holds one small entry per distinct text, never the input or the output.</remarks>
    public static async Task<PreparedDataset> PrepareAsync(IArtifactStore store, string task, string runId, string datasetPath,
        DatasetPreparationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(datasetPath);
        options ??= new DatasetPreparationOptions();
        Validate(options);
        string statsPath = BlobLayout.PreparedStats(task, runId);
        string rejectedPath = BlobLayout.Rejected(task, runId);

        // Every read is pinned to the version the first one saw: an upload overwritten in between would otherwise
        // prepare new bytes under the old analysis (and, retried, under the old run id).
        string? version = null;
        async Task<Stream> OpenAsync()
        {
            PinnedRead? pinned;
            try
            {
                pinned = await store.OpenReadPinnedAsync(datasetPath, version, cancellationToken).ConfigureAwait(false);
            }
            catch (ArtifactConflictException e)
            {
                throw Changed(e);
            }
            if (pinned == null) throw new FileNotFoundException($"{datasetPath}: no such dataset in {store.Location}", datasetPath);
            version ??= pinned.ETag;
            return pinned.Stream;
        }
        DatasetRejectedException Changed(Exception e) => new(
            $"{datasetPath}: the file changed while it was being prepared (first read at version {version}); nothing was prepared from it. " +
            "The new upload starts its own run.", e);

        var format = options.Format ?? DatasetRecordReader.FormatFromExtension(datasetPath);
        Analysis analysis;
        var splitPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        // The second pass streams every row to the store as it goes (blocks of a few MB), so memory does not grow with
        // the output; nothing becomes visible until every output is complete (committed in turn, stats.json last).
        var writers = new List<ArtifactWriteStream>();
        try
        {
            if (format == null)
                await using (var sniff = await OpenAsync().ConfigureAwait(false)) format = DatasetRecordReader.Sniff(sniff);
            await using (var first = await OpenAsync().ConfigureAwait(false))
                analysis = Analyze(first, format.Value, datasetPath, options, rejectedPath, cancellationToken);

            var splits = new Dictionary<string, ArtifactWriteStream>(StringComparer.Ordinal);
            if (analysis.Stats.Failure == null)
            {
                foreach (var split in DatasetSplit.All)
                {
                    string path = BlobLayout.Prepared(task, runId, split);
                    var writer = await store.OpenWriteAsync(path, cancellationToken).ConfigureAwait(false);
                    writers.Add(writer);
                    splits[split] = writer;
                    splitPaths[split] = path;
                }
            }
            var rejected = await store.OpenWriteAsync(rejectedPath, cancellationToken).ConfigureAwait(false);
            writers.Add(rejected);
            await using (var second = await OpenAsync().ConfigureAwait(false))
                Emit(second, datasetPath, options, analysis, new JsonLinesSink(splits, rejected), cancellationToken);
            foreach (var writer in writers) await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 412)
        {
            throw Changed(new ArtifactConflictException(datasetPath, version)); // overwritten in the middle of a ranged read
        }
        finally
        {
            foreach (var writer in writers) await writer.DisposeAsync().ConfigureAwait(false);
        }
        await store.WriteAsync(statsPath, BinaryData.FromString(analysis.Stats.ToJson()), cancellationToken).ConfigureAwait(false);

        var s = analysis.Stats;
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

    /// <summary>The pure preparation of one file held in a seekable stream (read twice); <paramref name="source"/>
    /// names it in every message and rejected row. <paramref name="rejectedPath"/> only goes into the failure message.</summary>
    public static PreparationOutput Prepare(Stream input, string source, DatasetPreparationOptions? options = null, string? rejectedPath = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(source);
        if (!input.CanSeek) throw new ArgumentException("the input must be seekable (it is read twice); PrepareAsync streams from a store", nameof(input));
        options ??= new DatasetPreparationOptions();
        Validate(options);
        long start = input.Position;
        Stream Rewind() { input.Position = start; return input; }

        var format = options.Format ?? DatasetRecordReader.FormatFromExtension(source) ?? DatasetRecordReader.Sniff(Rewind());
        var analysis = Analyze(Rewind(), format, source, options, rejectedPath, cancellationToken);
        var sink = new ListSink();
        Emit(Rewind(), source, options, analysis, sink, cancellationToken);
        var splits = DatasetSplit.All.ToDictionary(s => s, s => (IReadOnlyList<PreparedRow>)sink.Rows(s), StringComparer.Ordinal);
        return new PreparationOutput(splits, sink.Rejected, analysis.Stats);
    }

    /// <summary>The split of a row from its hash: the first 8 bytes of SHA-256(text [+ U+001F + text_b]) modulo
    /// 10,000 buckets, compared with the fractions. A row's split depends on its own text only, so adding rows to a
    /// file never moves an existing row to another split.</summary>
    public static string SplitOf(string text, string? textB, SplitFractions fractions)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fractions);
        return SplitOf(Hash(text, textB).Bucket, fractions);
    }

    private static string SplitOf(ulong bucket, SplitFractions fractions)
    {
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

    // ---- one row ----------------------------------------------------------------------------------------------

    /// <summary>A row that passed the per-row checks. Key: the first 16 bytes of the text hash (duplicate key);
    /// Bucket: the first 8 bytes modulo 10,000 (split).</summary>
    private readonly record struct Candidate(string Text, string? TextB, string Label, bool IsNumber, double Value, UInt128 Key, ulong Bucket, string Id);

    private static (UInt128 Key, ulong Bucket, string Id) Hash(string text, string? textB)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(textB == null ? text : text + "\u001f" + textB), hash);
        ulong high = BinaryPrimitives.ReadUInt64BigEndian(hash), low = BinaryPrimitives.ReadUInt64BigEndian(hash[8..]);
        return (new UInt128(high, low), high % Buckets, Convert.ToHexStringLower(hash[..8]));
    }

    /// <summary>The checks every row goes through, identical in both passes: structure, empty text, empty label,
    /// non-finite label, and (when the caller said regression) a non-numeric label.</summary>
    private static bool OutOfRange(double value, int maxIntegerDigits) =>
        double.IsFinite(value) && Math.Abs(value) >= Math.Pow(10, maxIntegerDigits);

    /// <summary>The share of numeric labels from which an unspecified kind is regression.</summary>
    private const double RegressionShare = 0.98;

    private static (string Reason, string Detail)? Check(SourceRecord record, TaskKind? givenKind, int maxIntegerDigits, out Candidate candidate, out bool labelled)
    {
        candidate = default;
        labelled = false;
        if (record.Reason != null) return (record.Reason, record.Detail!);
        string text = record.Text!.Trim();
        if (text.Length == 0) return (RejectReason.EmptyText, "the text is empty");
        var raw = record.Label!.Value;
        string label = raw.Text.Trim();
        if (label.Length == 0) return (RejectReason.EmptyLabel, "the label is empty");
        labelled = true;
        bool isNumber = (raw with { Text = label }).TryNumber(out double value);
        if (isNumber && !double.IsFinite(value)) return (RejectReason.NonFiniteLabel, $"the label '{label}' is not a finite number");
        if (givenKind == TaskKind.Regression && !isNumber) return (RejectReason.NonNumericLabel, $"regression needs a numeric label, found '{label}'");
        if (givenKind == TaskKind.Regression && OutOfRange(value, maxIntegerDigits))
            return (RejectReason.LabelOutOfRange, $"the label '{label}' needs more than the {maxIntegerDigits} integer digits an answer may have (MaxIntegerDigits)");
        string? textB = record.TextB?.Trim() is { Length: > 0 } b ? b : null;
        var (key, bucket, id) = Hash(text, textB);
        candidate = new Candidate(text, textB, label, isNumber, isNumber ? value : double.NaN, key, bucket, id);
        return null;
    }

    // ---- pass 1: decide ---------------------------------------------------------------------------------------

    /// <summary>What pass 1 learned about one distinct text (+ text_b): its first usable row and how later rows compare.</summary>
    private sealed class TextEntry(long firstLine, string label, double value, int textLength, bool hasTextB, ulong bucket)
    {
        public long FirstLine { get; } = firstLine;
        public string Label { get; } = label;
        public double Value { get; } = value;
        public int TextLength { get; } = textLength;
        public bool HasTextB { get; } = hasTextB;
        public ulong Bucket { get; } = bucket;
        public int Count { get; set; } = 1;
        /// <summary>Later rows whose label equals the first's as a string (classification) / as a number (regression).</summary>
        public int SameString { get; set; }
        public int SameNumber { get; set; }

        public bool Conflicting(TaskKind kind) => kind == TaskKind.Regression ? SameNumber < Count - 1 : SameString < Count - 1;

        public bool SameLabel(TaskKind kind, in Candidate c) =>
            kind == TaskKind.Regression ? c.IsNumber && c.Value.Equals(Value) : string.Equals(c.Label, Label, StringComparison.Ordinal);
    }

    private sealed record Analysis(DatasetFormat Format, TaskKind? Kind, Dictionary<UInt128, TextEntry> Texts, HashSet<string> RareClasses, DatasetStats Stats);

    private static Analysis Analyze(Stream input, DatasetFormat format, string source, DatasetPreparationOptions options, string? rejectedPath, CancellationToken cancellationToken)
    {
        var rejectedByReason = new Dictionary<string, int>(StringComparer.Ordinal);
        var texts = new Dictionary<UInt128, TextEntry>();
        var labelPool = new Dictionary<string, string>(StringComparer.Ordinal);
        int inputRows = 0, labelled = 0, numeric = 0;
        foreach (var record in DatasetRecordReader.Read(format, input))
        {
            if ((++inputRows & 0xFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var rejection = Check(record, options.Kind, options.MaxIntegerDigits, out var c, out bool hasLabel);
            if (hasLabel)
            {
                labelled++;
                if ((record.Label!.Value with { Text = record.Label.Value.Text.Trim() }).LooksNumeric) numeric++;
            }
            if (rejection is { } r) { Count(rejectedByReason, r.Reason); continue; }
            if (!texts.TryGetValue(c.Key, out var entry))
            {
                if (!labelPool.TryGetValue(c.Label, out string? pooled)) labelPool[c.Label] = pooled = c.Label;
                texts[c.Key] = new TextEntry(record.Line, pooled, c.Value, c.Text.Length, c.TextB != null, c.Bucket);
                continue;
            }
            entry.Count++;
            if (string.Equals(c.Label, entry.Label, StringComparison.Ordinal)) entry.SameString++;
            if (c.IsNumber && c.Value.Equals(entry.Value)) entry.SameNumber++;
        }

        // The kind: as given, or regression when (nearly) every usable label is a number (docs/DATA.md); the few words
        // among the numbers are then quarantined as non_numeric_label rather than turning the file into classification.
        TaskKind? kind = options.Kind ?? (labelled == 0 ? null : numeric >= RegressionShare * labelled ? TaskKind.Regression : TaskKind.Classification);
        var kept = new List<TextEntry>(texts.Count);
        foreach (var entry in texts.Values)
        {
            var k = kind ?? TaskKind.Classification;
            if (k == TaskKind.Regression && double.IsNaN(entry.Value))
            {
                Count(rejectedByReason, RejectReason.NonNumericLabel, entry.Count);
                continue;
            }
            if (k == TaskKind.Regression && OutOfRange(entry.Value, options.MaxIntegerDigits))
            {
                Count(rejectedByReason, RejectReason.LabelOutOfRange, entry.Count);
                continue;
            }
            if (entry.Conflicting(k))
            {
                int same = k == TaskKind.Regression ? entry.SameNumber : entry.SameString;
                Count(rejectedByReason, RejectReason.Duplicate, same);
                Count(rejectedByReason, RejectReason.ConflictingLabels, entry.Count - same);
            }
            else
            {
                Count(rejectedByReason, RejectReason.Duplicate, entry.Count - 1);
                kept.Add(entry);
            }
        }

        // Classes too small to split (unless every class is: then the run fails on too few rows or one class).
        var rare = new HashSet<string>(StringComparer.Ordinal);
        if (kind == TaskKind.Classification)
        {
            var counts = kept.GroupBy(e => e.Label, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            rare = counts.Where(kv => kv.Value < options.MinExamplesPerClass).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            if (rare.Count == counts.Count) rare.Clear();
            Count(rejectedByReason, RejectReason.RareClass, kept.Count(e => rare.Contains(e.Label)));
            kept.RemoveAll(e => rare.Contains(e.Label));
        }

        var bySplit = DatasetSplit.All.ToDictionary(s => s, _ => new List<TextEntry>(), StringComparer.Ordinal);
        foreach (var entry in kept) bySplit[SplitOf(entry.Bucket, options.Fractions)].Add(entry);
        rejectedByReason = rejectedByReason.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        int rejected = rejectedByReason.Values.Sum();

        string? failure = Failure(source, format, inputRows, kept, bySplit, rejectedByReason, kind, numeric, labelled, options, rejectedPath);
        // The answer format every training job of the run uses (it travels in the job message).
        var answer = kept.Count == 0 ? null
            : kind == TaskKind.Classification ? AnswerFormat.ForClassification(kept.Select(e => e.Label))
            : kind == TaskKind.Regression ? AnswerFormat.ForRegression(kept.Select(e => e.Value), options.MaxDecimals)
            : null;
        var labels = answer?.Labels;
        var numberFormat = answer?.NumberFormat;
        var stats = new DatasetStats
        {
            Source = source,
            Format = format,
            Kind = kind,
            KindSource = options.Kind.HasValue ? "given" : "inferred",
            InputRows = inputRows,
            PreparedRows = failure == null ? kept.Count : 0,
            RejectedRows = rejected,
            UnsplitRows = failure == null ? 0 : kept.Count,
            RejectedByReason = new SortedDictionary<string, int>(rejectedByReason, StringComparer.Ordinal),
            Splits = failure == null
                ? DatasetSplit.All.ToDictionary(s => s, s => SplitStatsOf(bySplit[s], kind!.Value, labels), StringComparer.Ordinal)
                : new Dictionary<string, SplitStats>(StringComparer.Ordinal),
            Labels = labels,
            NumberFormat = numberFormat,
            TextLength = TextLengthStats.Of(kept.Select(e => e.TextLength).ToList()),
            RowsWithTextB = kept.Count(e => e.HasTextB),
            Fractions = options.Fractions,
            Failure = failure,
        };
        return new Analysis(format, kind, texts, rare, stats);
    }

    private static void Count(Dictionary<string, int> counts, string reason, int n = 1)
    {
        if (n != 0) counts[reason] = counts.GetValueOrDefault(reason) + n;
    }

    // ---- pass 2: write ----------------------------------------------------------------------------------------

    private interface IPreparationSink
    {
        void Prepared(string split, PreparedRow row);
        void Rejected(RejectedRow row);
    }

    private static void Emit(Stream input, string source, DatasetPreparationOptions options, Analysis analysis, IPreparationSink sink, CancellationToken cancellationToken)
    {
        var kind = analysis.Kind ?? TaskKind.Classification;
        bool writeRows = analysis.Stats.Failure == null;
        int n = 0;
        foreach (var record in DatasetRecordReader.Read(analysis.Format, input))
        {
            if ((++n & 0xFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            if (Check(record, options.Kind ?? analysis.Kind, options.MaxIntegerDigits, out var c, out _) is { } r) { sink.Rejected(new RejectedRow(source, record.Line, r.Reason, r.Detail, record.Raw)); continue; }
            var entry = analysis.Texts[c.Key];
            string? reason = null, detail = null;
            if (entry.FirstLine != record.Line)
            {
                (reason, detail) = entry.SameLabel(kind, c)
                    ? (RejectReason.Duplicate, $"same text as line {entry.FirstLine.ToString(CultureInfo.InvariantCulture)} with the same label")
                    : (RejectReason.ConflictingLabels, $"the same text has different labels (first at line {entry.FirstLine.ToString(CultureInfo.InvariantCulture)})");
            }
            else if (entry.Conflicting(kind))
                (reason, detail) = (RejectReason.ConflictingLabels, "the same text appears later with a different label");
            else if (analysis.RareClasses.Contains(c.Label))
                (reason, detail) = (RejectReason.RareClass, $"class '{c.Label}' has fewer than the {options.MinExamplesPerClass} examples needed to split it");
            if (reason != null) { sink.Rejected(new RejectedRow(source, record.Line, reason, detail!, record.Raw)); continue; }
            if (!writeRows) continue;
            var row = kind == TaskKind.Classification ? PreparedRow.Classification(c.Id, c.Text, c.Label, c.TextB) : PreparedRow.Regression(c.Id, c.Text, c.Value, c.TextB);
            sink.Prepared(SplitOf(c.Bucket, options.Fractions), row);
        }
    }

    private sealed class ListSink : IPreparationSink
    {
        private readonly Dictionary<string, List<PreparedRow>> _rows = DatasetSplit.All.ToDictionary(s => s, _ => new List<PreparedRow>(), StringComparer.Ordinal);

        public List<RejectedRow> Rejected { get; } = [];

        public List<PreparedRow> Rows(string split) => _rows[split];

        public void Prepared(string split, PreparedRow row) => _rows[split].Add(row);

        void IPreparationSink.Rejected(RejectedRow row) => Rejected.Add(row);
    }

    /// <summary>JSON lines straight into the store's write streams as UTF-8 (no list of rows, no big string, no buffer
    /// that grows with the output).</summary>
    private sealed class JsonLinesSink(IReadOnlyDictionary<string, ArtifactWriteStream> splits, Stream rejected) : IPreparationSink
    {
        public void Prepared(string split, PreparedRow row) => Append(splits[split], row.ToJsonLine());

        public void Rejected(RejectedRow row) => Append(rejected, row.ToJsonLine());

        private static void Append(Stream output, string line)
        {
            int max = Encoding.UTF8.GetMaxByteCount(line.Length) + 1;
            byte[]? rented = max > 4096 ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
            Span<byte> bytes = rented ?? stackalloc byte[4096];
            int n = Encoding.UTF8.GetBytes(line, bytes);
            bytes[n++] = (byte)'\n';
            output.Write(bytes[..n]);
            if (rented != null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // ---- outcome ----------------------------------------------------------------------------------------------

    private static string? Failure(string source, DatasetFormat format, int inputRows, List<TextEntry> kept, Dictionary<string, List<TextEntry>> splits,
        Dictionary<string, int> rejectedByReason, TaskKind? kind, int numericLabels, int labelled, DatasetPreparationOptions options, string? rejectedPath)
    {
        int rejected = rejectedByReason.Values.Sum();
        string Summary()
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $" {inputRows} row(s) read, {kept.Count} usable, {rejected} rejected");
            if (rejected > 0)
                text.Append(" (").Append(string.Join(", ", rejectedByReason.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                    .Select(kv => $"{kv.Key}: {kv.Value.ToString(CultureInfo.InvariantCulture)}"))).Append(')');
            text.Append('.');
            if (rejected > 0 && rejectedPath != null) text.Append(" Rejected rows with line numbers: ").Append(rejectedPath).Append('.');
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
            var classes = kept.Select(e => e.Label).Distinct(StringComparer.Ordinal).ToList();
            if (classes.Count < 2)
                return $"{source}: classification needs at least two classes, but every usable row has the label '{classes[0]}'.{Summary()}";
            if (classes.Count > options.MaxClasses)
                return $"{source}: the labels make {classes.Count} classes, at most {options.MaxClasses} are allowed (DatasetPreparationOptions.MaxClasses): " +
                    $"is the label column an id or free text? For numbers, say --kind regression.{Summary()}";
        }
        foreach (var split in DatasetSplit.All)
            if (splits[split].Count == 0 && (split != DatasetSplit.Validation || options.Fractions.Validation > 0))
                return $"{source}: the {split} split is empty: {kept.Count} usable rows are too few for the fractions " +
                    $"{options.Fractions.Train}/{options.Fractions.Validation}/{options.Fractions.Test}; add rows.{Summary()}";
        return null;
    }

    private static SplitStats SplitStatsOf(List<TextEntry> rows, TaskKind kind, IReadOnlyList<string>? labels) => kind == TaskKind.Classification
        ? new SplitStats(rows.Count, labels!.ToDictionary(l => l, l => rows.Count(r => r.Label == l), StringComparer.Ordinal), null)
        : new SplitStats(rows.Count, null, ValueStats.Of(rows.Select(r => r.Value).ToList()));
}
