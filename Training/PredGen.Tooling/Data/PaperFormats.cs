using System.Globalization;
using System.Text;
using System.Text.Json;
using PredGen.Shared.Data;

namespace PredGen.Tooling.Data;

/// <summary>
/// Converters from the paper's data formats (Hugging Face datasets exported as JSONL / JSON / CSV / TSV) to
/// PreparedRow, one per format family:
/// <list type="bullet">
/// <item><b>text classification</b> (SST-2, ...): a text column and a label column (string, bool or class index).</item>
/// <item><b>pair classification</b> (BoolQ, RTE, MNLI, ...): two text columns -> text, text_b; BoolQ's true/false
/// becomes "yes"/"no", class indices become the names given in the preset (or stay digits).</item>
/// <item><b>regression</b> and <b>pair regression</b> (WASSA; STS-B, SICK): one or two texts and a numeric score.</item>
/// <item><b>multiple choice</b> (HellaSwag, WinoGrande, ARC, PIQA): the context and the lettered options become the text
/// ("...\nA. first\nB. second"), the answer becomes its letter, so every method predicts a class label.</item>
/// </list>
/// Column names are looked up case-insensitively among each preset's candidates, so both the Hugging Face hub
/// exports and the original releases (e.g. BoolQ's "answer" vs SuperGLUE's "label") convert.
/// </summary>
public static class PaperFormats
{
    public sealed record Preset(string Name, string Family, string[] Text, string[]? TextB, string[] Label, IReadOnlyList<string>? ClassNames = null, string[]? Choices = null);

    public static readonly IReadOnlyList<Preset> Presets =
    [
        new("sst2", "text-classification", ["sentence", "text"], null, ["label"], ["negative", "positive"]),
        new("text-classification", "text-classification", ["text", "sentence"], null, ["label"]),
        new("boolq", "pair-classification", ["question"], ["passage"], ["answer", "label"]),
        new("rte", "pair-classification", ["sentence1", "premise"], ["sentence2", "hypothesis"], ["label"], ["entailment", "not_entailment"]),
        new("mnli", "pair-classification", ["premise", "sentence1"], ["hypothesis", "sentence2"], ["label"], ["entailment", "neutral", "contradiction"]),
        new("pair-classification", "pair-classification", ["text", "sentence1", "text_a"], ["text_b", "sentence2"], ["label"]),
        new("stsb", "pair-regression", ["sentence1"], ["sentence2"], ["label", "score", "similarity_score"]),
        new("sick", "pair-regression", ["sentence_A", "sentence1"], ["sentence_B", "sentence2"], ["relatedness_score", "label", "score"]),
        new("wassa", "regression", ["tweet", "text"], null, ["intensity", "score", "label"]),
        new("regression", "regression", ["text", "sentence"], null, ["label", "score", "value"]),
        new("hellaswag", "multiple-choice", ["ctx"], null, ["label"], Choices: ["endings"]),
        new("winogrande", "multiple-choice", ["sentence"], null, ["answer", "label"], Choices: ["option1", "option2"]),
        new("arc", "multiple-choice", ["question"], null, ["answerKey", "label"], Choices: ["choices"]),
        new("piqa", "multiple-choice", ["goal"], null, ["label"], Choices: ["sol1", "sol2"]),
    ];

    public static Preset Find(string name) =>
        Presets.FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown format '{name}' (known: {string.Join(", ", Presets.Select(p => p.Name))})", nameof(name));

    /// <summary>Reads .jsonl, .json (an array, or an object with a "data" array), .csv or .tsv into records.</summary>
    public static IReadOnlyList<Dictionary<string, JsonElement>> ReadRecords(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".csv" or ".tsv") return ReadDelimited(File.ReadAllText(path, Encoding.UTF8), ext == ".tsv" ? '\t' : ',');
        if (ext == ".json")
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var array = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement : doc.RootElement.GetProperty("data");
            return array.EnumerateArray().Select(ToRecord).ToList();
        }
        return File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            return ToRecord(doc.RootElement);
        }).ToList();
    }

    private static Dictionary<string, JsonElement> ToRecord(JsonElement e) =>
        e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// CSV or TSV with a header row, read with the project's one CSV behaviour (CsvFiles: CsvHelper). A malformed
    /// record stops the conversion with its line and reason: a paper data set with a short or long row is a broken
    /// export, and padding or dropping fields would silently shift columns.
    /// </summary>
    internal static List<Dictionary<string, JsonElement>> ReadDelimited(string content, char separator)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        CsvHelper.CsvMalformedRecord? bad = null;
        using var csv = CsvHelper.CsvReader.Create(stream, CsvFiles.ReaderOptions(separator, r => bad ??= r), leaveOpen: true);
        var headers = csv.Headers;
        var records = new List<Dictionary<string, JsonElement>>();
        while (true)
        {
            bool more = csv.Read();
            if (bad is { } b)
                throw new FormatException($"line {b.LineNumber.ToString(CultureInfo.InvariantCulture)}: {CsvFiles.Describe(b.Reason)}");
            if (!more) return records;
            var record = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
            for (int k = 0; k < headers.Count; k++) record[headers[k]] = JsonSerializer.SerializeToElement(csv.GetString(k));
            records.Add(record);
        }
    }

    public static IReadOnlyList<PreparedRow> Convert(Preset preset, IReadOnlyList<Dictionary<string, JsonElement>> records, string idPrefix)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(records);
        var rows = new List<PreparedRow>(records.Count);
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            string id = r.TryGetValue("id", out var idValue) || r.TryGetValue("idx", out idValue) ? Scalar(idValue) : $"{idPrefix}-{i.ToString(CultureInfo.InvariantCulture)}";
            string where = $"{idPrefix} record {i.ToString(CultureInfo.InvariantCulture)}";
            var label = Column(r, preset.Label, where);
            switch (preset.Family)
            {
                case "regression" or "pair-regression":
                    rows.Add(PreparedRow.Regression(id, Text(r, preset.Text, where), Number(label, where), preset.TextB == null ? null : Text(r, preset.TextB, where)));
                    break;
                case "multiple-choice":
                    var (text, answer) = MultipleChoice(preset, r, label, where);
                    rows.Add(PreparedRow.Classification(id, text, answer));
                    break;
                default:
                    rows.Add(PreparedRow.Classification(id, Text(r, preset.Text, where), ClassLabel(label, preset), preset.TextB == null ? null : Text(r, preset.TextB, where)));
                    break;
            }
        }
        return rows;
    }

    private static (string Text, string Answer) MultipleChoice(Preset preset, Dictionary<string, JsonElement> r, JsonElement label, string where)
    {
        string context = preset.Name == "hellaswag" && r.ContainsKey("ctx_a") && !r.ContainsKey("ctx")
            ? (Text(r, ["ctx_a"], where) + " " + Text(r, ["ctx_b"], where)).Trim()
            : r.TryGetValue(preset.Text[0], out var q) && q.ValueKind == JsonValueKind.Object ? q.GetProperty("stem").GetString() ?? "" : Text(r, preset.Text, where);
        List<string> options;
        List<string> keys;
        if (preset.Choices!.Length > 1)
        {
            options = preset.Choices.Select(c => Text(r, [c], where)).ToList();
            keys = Enumerable.Range(1, options.Count).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToList();
        }
        else
        {
            var choices = Column(r, preset.Choices, where);
            if (choices.ValueKind == JsonValueKind.Object)
            {
                options = choices.GetProperty("text").EnumerateArray().Select(e => e.GetString() ?? "").ToList();
                keys = choices.GetProperty("label").EnumerateArray().Select(e => e.GetString() ?? "").ToList();
            }
            else if (choices.ValueKind == JsonValueKind.Array && choices.EnumerateArray().FirstOrDefault().ValueKind == JsonValueKind.Object)
            {
                options = choices.EnumerateArray().Select(e => e.GetProperty("text").GetString() ?? "").ToList();
                keys = choices.EnumerateArray().Select(e => e.GetProperty("label").GetString() ?? "").ToList();
            }
            else
            {
                var list = choices.ValueKind == JsonValueKind.String ? JsonDocument.Parse(choices.GetString()!).RootElement.Clone() : choices;
                options = list.EnumerateArray().Select(e => e.GetString() ?? "").ToList();
                keys = Enumerable.Range(0, options.Count).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToList();
            }
        }
        string key = Scalar(label);
        int index = keys.IndexOf(key);
        if (index < 0 && int.TryParse(key, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k0) && k0 >= 0 && k0 < options.Count && keys[0] == "1") index = k0 - 1;
        if (index < 0) throw new FormatException($"{where}: answer '{key}' is not one of the options ({string.Join(", ", keys)})");
        var text = new StringBuilder(context);
        for (int o = 0; o < options.Count; o++) text.Append('\n').Append((char)('A' + o)).Append(". ").Append(options[o]);
        return (text.ToString(), ((char)('A' + index)).ToString());
    }

    private static JsonElement Column(Dictionary<string, JsonElement> r, string[] candidates, string where)
    {
        foreach (var c in candidates) if (r.TryGetValue(c, out var v) && v.ValueKind != JsonValueKind.Null) return v;
        throw new FormatException($"{where}: none of the columns {string.Join(" / ", candidates)} is present");
    }

    private static string Text(Dictionary<string, JsonElement> r, string[] candidates, string where) => Scalar(Column(r, candidates, where));

    private static string Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => e.GetRawText(),
    };

    private static double Number(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.Number ? e.GetDouble()
        : double.TryParse(Scalar(e), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
        : throw new FormatException($"{where}: score '{Scalar(e)}' is not a number");

    private static string ClassLabel(JsonElement e, Preset preset)
    {
        string s = Scalar(e).Trim();
        if (preset.Name == "boolq") return s is "true" or "True" or "1" ? "yes" : s is "false" or "False" or "0" ? "no" : s;
        if (preset.ClassNames != null && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 0 && k < preset.ClassNames.Count)
            return preset.ClassNames[k];
        return s;
    }
}
