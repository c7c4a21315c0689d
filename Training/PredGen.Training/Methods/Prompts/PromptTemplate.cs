using System.Text.Json.Serialization;

namespace PredGen.Training.Methods;

/// <summary>
/// The per-task prompt the answer is written after. Placeholders: <c>{text}</c> and, for sentence pairs, <c>{text_b}</c>.
/// Stored in the model card, so serving renders exactly what training rendered.
/// </summary>
public sealed record PromptTemplate(
    [property: JsonPropertyName("template")] string Template,
    [property: JsonPropertyName("pair_template")] string PairTemplate)
{
    public const string TextSlot = "{text}";
    public const string TextBSlot = "{text_b}";

    public static PromptTemplate Default { get; } = new("Input: {text}\nAnswer: ", "Input: {text}\nSecond: {text_b}\nAnswer: ");

    public string Render(TextInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return (input.TextB != null ? PairTemplate : Template).Replace(TextSlot, input.Text, StringComparison.Ordinal)
            .Replace(TextBSlot, input.TextB ?? "", StringComparison.Ordinal);
    }

    /// <summary>(literal, slot-after-it) pairs in order; the last slot is null.</summary>
    internal static List<(string Literal, string? Slot)> Split(string template)
    {
        var parts = new List<(string, string?)>();
        int i = 0;
        while (i <= template.Length)
        {
            int a = template.IndexOf(TextSlot, i, StringComparison.Ordinal);
            int b = template.IndexOf(TextBSlot, i, StringComparison.Ordinal);
            int next = a < 0 ? b : b < 0 ? a : Math.Min(a, b);
            if (next < 0) { parts.Add((template[i..], null)); break; }
            string slot = next == a ? TextSlot : TextBSlot;
            parts.Add((template[i..next], slot));
            i = next + slot.Length;
        }
        return parts;
    }
}
