using CsvHelper;

namespace PredGen.Shared.Data;

/// <summary>
/// The project's one CSV/TSV behaviour (CsvHelper): a header row, RFC 4180 quoting with line breaks inside quotes,
/// empty lines skipped, and a malformed record (a stray or unterminated quote, text after a closing quote, a field
/// count that differs from the header's) reported, never padded, truncated or guessed at. Uploaded data sets
/// (DatasetRecordReader) quarantine such records with the reason; the paper converters stop at the first one.
/// </summary>
public static class CsvFiles
{
    public static CsvReaderOptions ReaderOptions(char separator, Action<CsvMalformedRecord> onMalformed) => new()
    {
        Separator = separator,
        HasHeader = true,
        AllowLineBreaksInQuotes = true,
        TrackLineNumbers = true,
        SkipEmptyLines = true,
        MalformedData = CsvMalformedDataHandling.Skip,
        FieldCountMismatch = CsvFieldCountHandling.Skip,
        OnMalformedRecord = onMalformed,
    };

    public static string Describe(CsvMalformedReason reason) => reason switch
    {
        CsvMalformedReason.FieldCountMismatch => "the record has a different number of fields than the header",
        CsvMalformedReason.StrayQuote => "a quote inside an unquoted field",
        CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a field",
        CsvMalformedReason.UnterminatedQuote => "a quoted field is never closed",
        _ => "malformed CSV (" + reason + ")",
    };
}
