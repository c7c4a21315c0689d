using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;

namespace PredGen.Shared.Data;

/// <summary>A label as written in the file, before the task kind is known.</summary>
internal readonly record struct RawLabel(string Text, bool IsNumber)
{
    /// <summary>A JSON number, or a string that reads as one in the invariant culture (NaN and infinity included, so
    /// that they are rejected as non-finite rather than taken as class names).</summary>
    public bool LooksNumeric => IsNumber || TryNumber(out _);

    public bool TryNumber(out double value) =>
        double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
}

/// <summary>One input row: either the fields it carries, or why it cannot be used (<see cref="Reason"/> set).</summary>
internal sealed record SourceRecord(long Line, string Raw, string? Text, string? TextB, RawLabel? Label, string? Reason, string? Detail)
{
    public static SourceRecord Rejected(long line, string raw, string reason, string detail) => new(line, raw, null, null, null, reason, detail);
}

/// <summary>Reads the rows of a dataset file one at a time (the file is never held whole in memory).</summary>
internal static class DatasetRecordReader
{
    /// <summary>The format an extension names, or null when it names none.</summary>
    public static DatasetFormat? FormatFromExtension(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".jsonl" or ".ndjson" or ".json" => DatasetFormat.Jsonl,
        ".csv" => DatasetFormat.Csv,
        ".tsv" or ".tab" => DatasetFormat.Tsv,
        _ => null,
    };

    /// <summary>Unknown extension: a JSONL file starts with '{' (after a byte order mark or whitespace).</summary>
    public static DatasetFormat Sniff(Stream stream)
    {
        int b;
        while ((b = stream.ReadByte()) >= 0)
            if (b is not (' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)) break;
        return b == '{' ? DatasetFormat.Jsonl : DatasetFormat.Csv;
    }

    public static IEnumerable<SourceRecord> Read(DatasetFormat format, Stream stream) => format switch
    {
        DatasetFormat.Jsonl => ReadJsonl(stream),
        DatasetFormat.Csv => ReadCsv(stream, ','),
        DatasetFormat.Tsv => ReadCsv(stream, '\t'),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    private static IEnumerable<SourceRecord> ReadJsonl(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        long lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue; // blank lines are not rows (a trailing newline, spacing)
            yield return ParseJsonLine(lineNumber, line);
        }
    }

    private static SourceRecord ParseJsonLine(long line, string raw)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(raw);
        }
        catch (JsonException e)
        {
            return SourceRecord.Rejected(line, raw, RejectReason.MalformedJson, "not valid JSON: " + e.Message);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return SourceRecord.Rejected(line, raw, RejectReason.MalformedJson, $"expected a JSON object, found {root.ValueKind.ToString().ToLowerInvariant()}");

            string textField = root.TryGetProperty("text", out var text) ? "text" : root.TryGetProperty("text_a", out text) ? "text_a" : "";
            if (textField.Length == 0 || text.ValueKind == JsonValueKind.Null)
                return SourceRecord.Rejected(line, raw, RejectReason.MissingField, "no 'text' (or 'text_a') field");
            if (text.ValueKind != JsonValueKind.String)
                return SourceRecord.Rejected(line, raw, RejectReason.WrongType, $"'{textField}' must be a string, found {Kind(text)}");

            if (LoneSurrogate(text, textField) is { } brokenText) return SourceRecord.Rejected(line, raw, RejectReason.MalformedJson, brokenText);

            string? textB = null;
            if (root.TryGetProperty("text_b", out var tb) && tb.ValueKind != JsonValueKind.Null)
            {
                if (tb.ValueKind != JsonValueKind.String)
                    return SourceRecord.Rejected(line, raw, RejectReason.WrongType, $"'text_b' must be a string, found {Kind(tb)}");
                if (LoneSurrogate(tb, "text_b") is { } brokenB) return SourceRecord.Rejected(line, raw, RejectReason.MalformedJson, brokenB);
                textB = tb.GetString();
            }

            if (!root.TryGetProperty("label", out var label))
                return SourceRecord.Rejected(line, raw, RejectReason.MissingField, "no 'label' field");
            if (label.ValueKind == JsonValueKind.String && LoneSurrogate(label, "label") is { } brokenLabel)
                return SourceRecord.Rejected(line, raw, RejectReason.MalformedJson, brokenLabel);
            RawLabel? parsed = label.ValueKind switch
            {
                JsonValueKind.String => new RawLabel(label.GetString()!, IsNumber: false),
                JsonValueKind.Number => new RawLabel(label.GetRawText(), IsNumber: true),
                JsonValueKind.True => new RawLabel("true", IsNumber: false),
                JsonValueKind.False => new RawLabel("false", IsNumber: false),
                JsonValueKind.Null => new RawLabel("", IsNumber: false),
                _ => null,
            };
            if (parsed == null)
                return SourceRecord.Rejected(line, raw, RejectReason.WrongType, $"'label' must be a string, number or boolean, found {Kind(label)}");
            return new SourceRecord(line, raw, text.GetString(), textB, parsed, null, null);
        }
    }

    /// <summary>A JSON string escape such as "\ud800" parses but is no text: GetString would throw and abort the whole file.</summary>
    private static string? LoneSurrogate(JsonElement value, string field)
    {
        try
        {
            _ = value.GetString();
            return null;
        }
        catch (InvalidOperationException)
        {
            return $"'{field}' holds a lone UTF-16 surrogate escape (such as \\ud800), which is not text";
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    private static IEnumerable<SourceRecord> ReadCsv(Stream stream, char separator)
    {
        var malformed = new Queue<CsvMalformedRecord>();
        var options = CsvFiles.ReaderOptions(separator, malformed.Enqueue);
        using var csv = CsvReader.Create(stream, options, leaveOpen: true);
        var headers = csv.Headers;
        int textIndex = IndexOf(headers, "text"), labelIndex = IndexOf(headers, "label"), textBIndex = IndexOf(headers, "text_b");
        if (textIndex < 0) textIndex = IndexOf(headers, "text_a");
        string? missing = textIndex < 0 ? "no 'text' (or 'text_a') column" : labelIndex < 0 ? "no 'label' column" : null;
        if (missing != null) missing += $" in the header ({string.Join(", ", headers.Select(h => "'" + h + "'"))})";

        while (true)
        {
            bool more = csv.Read();
            while (malformed.Count > 0)
            {
                var bad = malformed.Dequeue();
                yield return SourceRecord.Rejected(bad.LineNumber, bad.RawRecord, RejectReason.MalformedCsv, CsvFiles.Describe(bad.Reason));
            }
            if (!more) yield break;

            long line = csv.LineNumber;
            string raw = Encoding.UTF8.GetString(csv.RawRecord);
            if (missing != null)
            {
                yield return SourceRecord.Rejected(line, raw, RejectReason.MissingField, missing);
                continue;
            }
            string text = csv.GetString(textIndex);
            string? textB = textBIndex >= 0 ? csv.GetString(textBIndex) : null;
            string label = csv.GetString(labelIndex);
            yield return new SourceRecord(line, raw, text, string.IsNullOrEmpty(textB) ? null : textB, new RawLabel(label, IsNumber: false), null, null);
        }
    }

    private static int IndexOf(IReadOnlyList<string> headers, string name)
    {
        for (int i = 0; i < headers.Count; i++)
            if (string.Equals(headers[i].Trim(), name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

}
