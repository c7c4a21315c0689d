using System.Globalization;
using PredGen.Shared.Data;
using PredGen.Training.Tokenization;

namespace PredGen.Training.Methods;

/// <summary>
/// What an answer may look like, token by token: decoding picks the best allowed token at each step, so whatever the
/// model's weights, the answer is a known label or a number that parses. Every answer ends with EOS.
/// </summary>
public interface IAnswerGrammar
{
    /// <summary>Token ids allowed after <paramref name="prefix"/> (the answer tokens so far); EOS when it may end.</summary>
    IReadOnlyList<int> AllowedNext(IReadOnlyList<int> prefix);

    /// <summary>Longest answer in tokens, EOS excluded.</summary>
    int MaxLength { get; }
}

/// <summary>A trie over the labels' token sequences, each terminated by EOS (so "no" and "not" can both be labels).</summary>
public sealed class LabelTrie : IAnswerGrammar
{
    private readonly Node root = new();
    private readonly int eosId;

    public LabelTrie(IReadOnlyList<IReadOnlyList<int>> labelTokens, int eosId)
    {
        ArgumentNullException.ThrowIfNull(labelTokens);
        this.eosId = eosId;
        for (int label = 0; label < labelTokens.Count; label++)
        {
            var ids = labelTokens[label];
            if (ids.Count == 0) throw new ArgumentException($"label {label} has no tokens", nameof(labelTokens));
            if (ids.Contains(eosId)) throw new ArgumentException($"label {label} contains the EOS token", nameof(labelTokens));
            var node = root;
            foreach (int id in ids)
            {
                if (!node.Children.TryGetValue(id, out var child)) node.Children[id] = child = new Node();
                node = child;
            }
            if (node.Label >= 0) throw new ArgumentException($"labels {node.Label} and {label} have the same tokens", nameof(labelTokens));
            node.Label = label;
            MaxLength = Math.Max(MaxLength, ids.Count);
        }
        if (labelTokens.Count == 0) throw new ArgumentException("no labels", nameof(labelTokens));
    }

    public int MaxLength { get; }

    public IReadOnlyList<int> AllowedNext(IReadOnlyList<int> prefix)
    {
        var node = Find(prefix) ?? throw new ArgumentException("the prefix is not in the trie", nameof(prefix));
        var allowed = new List<int>(node.Children.Count + 1);
        allowed.AddRange(node.Children.Keys.Order());
        if (node.Label >= 0) allowed.Add(eosId);
        return allowed;
    }

    /// <summary>The label index a complete answer spells, or -1.</summary>
    public int LabelOf(IReadOnlyList<int> answer) => Find(answer)?.Label ?? -1;

    private Node? Find(IReadOnlyList<int> prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var node = root;
        foreach (int id in prefix)
            if (!node.Children.TryGetValue(id, out node)) return null;
        return node;
    }

    private sealed class Node
    {
        public Dictionary<int, Node> Children { get; } = [];

        public int Label { get; set; } = -1;
    }
}

/// <summary>
/// The grammar of one <see cref="NumberFormat"/>: sign, fixed integer digits, '.', fixed decimals, then EOS. Each
/// character is one token (the byte tokenizer's digits are; other tokenizers must encode every digit, '.', '+' and
/// '-' as a single token, which is checked), so the answer always parses. The reference code falls back to 0.0 when
/// its output does not parse; with this grammar there is nothing to fall back from.
/// </summary>
public sealed class NumberGrammar : IAnswerGrammar
{
    private readonly int eosId;
    private readonly Dictionary<char, int> charToId = [];
    private readonly Dictionary<int, char> idToChar = [];
    private readonly int[] digitIds;

    public NumberGrammar(NumberFormat format, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(tokenizer);
        Format = format;
        eosId = tokenizer.EosId;
        foreach (char c in "0123456789.+-")
        {
            var ids = tokenizer.Encode(c.ToString());
            if (ids.Count != 1 || tokenizer.Decode(ids) != c.ToString())
                throw new NotSupportedException(
                    $"The tokenizer encodes '{c}' as {ids.Count} tokens; number generation needs one token per character (digit-level tokenizers, e.g. the byte tokenizer or Llama's).");
            charToId[c] = ids[0];
            idToChar[ids[0]] = c;
        }
        digitIds = [.. "0123456789".Select(c => charToId[c])];
    }

    public NumberFormat Format { get; }

    public int MaxLength => Format.Length;

    public IReadOnlyList<int> AllowedNext(IReadOnlyList<int> prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        int i = prefix.Count;
        if (i >= Format.Length) return [eosId];
        if (Format.HasSign && i == 0) return [charToId['+'], charToId['-']];
        int body = i - (Format.HasSign ? 1 : 0);
        return body == Format.IntegerDigits ? [charToId['.']] : digitIds;
    }

    /// <summary>Token ids of the formatted value (what training feeds and targets).</summary>
    public int[] Encode(double value) => [.. Format.Format(value).Select(c => charToId[c])];

    public string Text(IReadOnlyList<int> answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        return string.Concat(answer.Select(id => idToChar.TryGetValue(id, out char c) ? c : '?'));
    }

    /// <summary>The value a complete answer spells; throws when it does not follow the grammar (constrained decoding never
    /// produces such an answer).</summary>
    public double Parse(IReadOnlyList<int> answer)
    {
        string text = Text(answer);
        return Format.TryParse(text, out double value)
            ? value
            : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'{text}' does not follow the number format {Format}"));
    }
}
