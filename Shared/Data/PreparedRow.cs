using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredGen.Shared.Data;

public enum TaskKind
{
    Classification,
    Regression,
}

/// <summary>
/// One example of a prepared split (runs/{task}/{runId}/prepared/{split}.jsonl), the format every trainer, evaluator
/// and report reads: <c>{"id":"…","text":"…","text_b":"…","label":"spam"}</c> (classification, label a string) or
/// <c>{"id":"…","text":"…","label":13.4}</c> (regression, label a number). <c>text_b</c> is optional (sentence pairs).
/// </summary>
public sealed record PreparedRow(string Id, string Text, string? TextB, string? Label, double? Value)
{
    public static PreparedRow Classification(string id, string text, string label, string? textB = null) => new(id, text, textB, label, null);

    public static PreparedRow Regression(string id, string text, double value, string? textB = null) => new(id, text, textB, null, value);

    public TaskKind Kind => Label != null ? TaskKind.Classification : TaskKind.Regression;

    public string ToJsonLine()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteString("text", Text);
            if (TextB != null) w.WriteString("text_b", TextB);
            if (Label != null) w.WriteString("label", Label);
            else w.WriteNumber("label", Value ?? throw new InvalidOperationException($"row {Id} has neither a label nor a value"));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Parses one line; <paramref name="where"/> (file:line) goes into every error message.</summary>
    public static PreparedRow Parse(string line, string where)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"{where}: expected a JSON object");
            string text = root.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()! : throw new FormatException($"{where}: field 'text' is missing or not a string");
            string? textB = root.TryGetProperty("text_b", out var tb) && tb.ValueKind == JsonValueKind.String ? tb.GetString() : null;
            string id = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : where;
            if (!root.TryGetProperty("label", out var label)) throw new FormatException($"{where}: field 'label' is missing");
            return label.ValueKind switch
            {
                JsonValueKind.String => new PreparedRow(id, text, textB, label.GetString()!, null),
                JsonValueKind.Number => new PreparedRow(id, text, textB, null, label.GetDouble()),
                _ => throw new FormatException($"{where}: field 'label' must be a string (class) or a number (value)"),
            };
        }
        catch (JsonException e)
        {
            throw new FormatException($"{where}: not valid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException($"{where}: a field is not valid text ({e.Message})", e);
        }
    }

    public static IReadOnlyList<PreparedRow> ReadJsonl(string path)
    {
        var rows = new List<PreparedRow>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            rows.Add(Parse(line, $"{path}:{lineNumber.ToString(CultureInfo.InvariantCulture)}"));
        }
        return rows;
    }

    public static void WriteJsonl(string path, IEnumerable<PreparedRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        foreach (var row in rows) writer.WriteLine(row.ToJsonLine());
    }
}

/// <summary>
/// How a regression target is written as tokens (PredGen generates numbers digit by digit): an optional sign, a fixed
/// number of integer digits (zero-padded) and a fixed number of decimals, derived from the training labels and stored
/// with the model. 13.4 with (signed: false, integerDigits: 2, decimals: 1) is "13.4"; 2.5 is "02.5".
/// </summary>
public sealed record NumberFormat(
    [property: JsonPropertyName("signed")] bool HasSign,
    [property: JsonPropertyName("integer_digits")] int IntegerDigits,
    [property: JsonPropertyName("decimals")] int Decimals)
{
    /// <summary>The one default of how many decimals a format keeps, for the preparer and for a trainer that decides
    /// alone (<see cref="AnswerFormat.ForRegression"/>).</summary>
    public const int DefaultMaxDecimals = 3;

    /// <summary>Infers the format: sign if any label is negative, enough integer digits for the largest magnitude, and
    /// the decimals the labels actually use (at most <paramref name="maxDecimals"/>).</summary>
    public static NumberFormat Infer(IEnumerable<double> values, int maxDecimals = DefaultMaxDecimals)
    {
        ArgumentNullException.ThrowIfNull(values);
        // Decimals follow the data's scale: the cap counts from the first significant decimal of the largest value,
        // so targets such as 0.00012 keep maxDecimals significant digits instead of all becoming 0.000.
        var all = values as IReadOnlyCollection<double> ?? values.ToList();
        double largest = all.Count == 0 ? 0 : all.Max(v => double.IsFinite(v) ? Math.Abs(v) : 0);
        if (largest > 0 && largest < 1) maxDecimals += (int)-Math.Floor(Math.Log10(largest)) - 1;
        bool signed = false; double max = 0; int decimals = 0; int count = 0;
        foreach (var v in all)
        {
            if (!double.IsFinite(v)) throw new ArgumentException("values must be finite", nameof(values));
            count++;
            signed |= v < 0;
            max = Math.Max(max, Math.Abs(v));
            for (int d = decimals; d < maxDecimals; d++)
            {
                double scaled = Math.Abs(v) * Math.Pow(10, d);
                if (Math.Abs(scaled - Math.Round(scaled)) < 1e-6 * Math.Max(1, scaled)) break;
                decimals = d + 1;
            }
        }
        if (count == 0) throw new ArgumentException("no values", nameof(values));
        int integerDigits = Math.Max(1, (int)Math.Floor(Math.Log10(Math.Max(1, Math.Round(max, decimals)))) + 1);
        return new NumberFormat(HasSign: signed, integerDigits, decimals);
    }

    public double MaxMagnitude => Math.Pow(10, IntegerDigits) - Math.Pow(10, -Decimals);

    /// <summary>The canonical text; values outside the representable range are clamped (never a wrong digit count).</summary>
    public string Format(double value)
    {
        double v = Math.Clamp(Math.Round(value, Decimals, MidpointRounding.AwayFromZero), HasSign ? -MaxMagnitude : 0, MaxMagnitude);
        string body = Math.Abs(v).ToString("F" + Decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int intLength = Decimals > 0 ? body.IndexOf('.', StringComparison.Ordinal) : body.Length;
        body = new string('0', Math.Max(0, IntegerDigits - intLength)) + body;
        return HasSign ? (v < 0 ? "-" : "+") + body : body;
    }

    /// <summary>Parses text that follows this format's grammar exactly (sign, digit count, decimal point).</summary>
    public bool TryParse(string text, out double value)
    {
        value = 0;
        if (text == null || text.Length != Length) return false;
        int i = 0;
        if (HasSign && text[i++] is not ('+' or '-')) return false;
        for (int d = 0; d < IntegerDigits; d++) if (!char.IsAsciiDigit(text[i++])) return false;
        if (Decimals > 0)
        {
            if (text[i++] != '.') return false;
            for (int d = 0; d < Decimals; d++) if (!char.IsAsciiDigit(text[i++])) return false;
        }
        return double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Length in characters of every formatted value.</summary>
    public int Length => (HasSign ? 1 : 0) + IntegerDigits + (Decimals > 0 ? 1 + Decimals : 0);
}
