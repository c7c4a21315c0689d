using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace PredGen.Training.Tokenization;

/// <summary>
/// The pre_tokenizer of a Hugging Face tokenizer.json, run as the tokenizers library runs it: added tokens are cut
/// out of the text first (they are never split or merged), then each step of the sequence splits every piece further.
/// Steps: Split (a regex, behaviour Isolated), Digits (individual or runs; SmolLM2 splits every digit) and ByteLevel
/// with use_regex (GPT-2's split). Microsoft.ML.Tokenizers' RegexPreTokenizer runs one regex over the whole text, which
/// is not the same as a Digits step followed by the ByteLevel regex, so numbers would tokenize differently.
/// </summary>
public sealed class HuggingFacePreTokenizer : PreTokenizer
{
    /// <summary>GPT-2's pre-tokenisation split (ByteLevel with use_regex).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly IReadOnlyList<Func<string, int, int, IEnumerable<(int Offset, int Length)>>> steps;
    private readonly string[] addedTokens;

    private HuggingFacePreTokenizer(IReadOnlyList<Func<string, int, int, IEnumerable<(int, int)>>> steps, IEnumerable<string> addedTokens)
    {
        this.steps = steps;
        // Longest first, so "<|eot_id|>" wins over a shorter added token it contains.
        this.addedTokens = addedTokens.Where(t => t.Length > 0).OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Builds the steps of a tokenizer.json "pre_tokenizer" object; throws NotSupportedException naming a step it cannot run.</summary>
    public static HuggingFacePreTokenizer FromJson(JsonElement preTokenizer, IEnumerable<string> addedTokens, string source)
    {
        var steps = new List<Func<string, int, int, IEnumerable<(int, int)>>>();
        foreach (var step in Flatten(preTokenizer))
        {
            string type = step.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            switch (type)
            {
                case "Split":
                {
                    string behavior = step.TryGetProperty("behavior", out var b) ? b.GetString() ?? "Isolated" : "Isolated";
                    bool invert = step.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                    if (behavior != "Isolated" || invert)
                        throw new NotSupportedException($"{source}: pre_tokenizer Split with behavior '{behavior}'{(invert ? " and invert" : "")} is not supported (Isolated only).");
                    var pattern = step.GetProperty("pattern");
                    string regex = pattern.TryGetProperty("Regex", out var r) ? r.GetString()! : Regex.Escape(pattern.GetProperty("String").GetString()!);
                    steps.Add(Isolate(new Regex(regex, RegexOptions.Compiled | RegexOptions.CultureInvariant)));
                    break;
                }
                case "Digits":
                {
                    bool individual = step.TryGetProperty("individual_digits", out var d) && d.ValueKind == JsonValueKind.True;
                    steps.Add(Isolate(new Regex(individual ? @"\p{Nd}" : @"\p{Nd}+", RegexOptions.Compiled | RegexOptions.CultureInvariant)));
                    break;
                }
                case "ByteLevel":
                {
                    if (step.TryGetProperty("add_prefix_space", out var p) && p.ValueKind == JsonValueKind.True)
                        throw new NotSupportedException($"{source}: ByteLevel with add_prefix_space is not supported.");
                    bool useRegex = !step.TryGetProperty("use_regex", out var u) || u.ValueKind != JsonValueKind.False;
                    if (useRegex) steps.Add(Isolate(new Regex(Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant)));
                    break; // the byte-to-symbol mapping itself is the BPE model's (BpeOptions.ByteLevel)
                }
                case "Sequence":
                    break;
                default:
                    throw new NotSupportedException($"{source}: pre_tokenizer step '{type}' is not supported (Split, Digits, ByteLevel).");
            }
        }
        return new HuggingFacePreTokenizer(steps, addedTokens);
    }

    private static IEnumerable<JsonElement> Flatten(JsonElement step)
    {
        yield return step;
        if (step.TryGetProperty("pretokenizers", out var list))
            foreach (var inner in list.EnumerateArray())
                foreach (var e in Flatten(inner)) yield return e;
    }

    /// <summary>"Isolated": every match is a piece, and so is the text between matches.</summary>
    private static Func<string, int, int, IEnumerable<(int, int)>> Isolate(Regex regex) => (text, start, length) => Split(regex, text, start, length);

    private static IEnumerable<(int, int)> Split(Regex regex, string text, int start, int length)
    {
        int position = start, end = start + length;
        for (var m = regex.Match(text, start, length); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            if (m.Index > position) yield return (position, m.Index - position);
            yield return (m.Index, m.Length);
            position = m.Index + m.Length;
        }
        if (position < end) yield return (position, end - position);
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<(int Offset, int Length)>();
        foreach (var (offset, length, added) in SplitAddedTokens(text))
        {
            if (added) { pieces.Add((offset, length)); continue; }
            IEnumerable<(int, int)> current = [(offset, length)];
            foreach (var step in steps)
            {
                var next = new List<(int, int)>();
                foreach (var (o, l) in current) next.AddRange(step(text, o, l));
                current = next;
            }
            pieces.AddRange(current);
        }
        return pieces;
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => PreTokenize(text.ToString());

    /// <summary>The text cut at added tokens: (offset, length, isAddedToken), leftmost match first, longest token at a position.</summary>
    public IEnumerable<(int Offset, int Length, bool Added)> SplitAddedTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int position = 0;
        while (position < text.Length)
        {
            int best = -1;
            string? token = null;
            foreach (string candidate in addedTokens)
            {
                int at = text.IndexOf(candidate, position, StringComparison.Ordinal);
                if (at >= 0 && (best < 0 || at < best)) { best = at; token = candidate; }
            }
            if (token is null) { yield return (position, text.Length - position, false); yield break; }
            if (best > position) yield return (position, best - position, false);
            yield return (best, token.Length, true);
            position = best + token.Length;
        }
    }
}
