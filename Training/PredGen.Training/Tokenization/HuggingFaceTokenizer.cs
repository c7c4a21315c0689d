using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace PredGen.Training.Tokenization;

/// <summary>
/// Hugging Face tokenizers through Microsoft.ML.Tokenizers: tokenizer.json with a byte-level BPE model (GPT-2, Llama 3,
/// Qwen style) and SentencePiece tokenizer.model (Llama 2). BOS/EOS/PAD come from tokenizer_config.json, else config.json.
/// Save copies the original files, so a saved model directory carries exactly the tokenizer it was loaded with.
/// </summary>
public sealed class HuggingFaceTokenizer : ITextTokenizer
{
    public const string TokenizerJson = "tokenizer.json";
    public const string SentencePieceModel = "tokenizer.model";
    public const string TokenizerConfigJson = "tokenizer_config.json";
    // generation_config.json travels with the tokenizer: its end ids are the stop set that goes with this vocabulary.
    private static readonly string[] CompanionFiles = [TokenizerJson, SentencePieceModel, TokenizerConfigJson, "special_tokens_map.json", "generation_config.json"];

    private readonly Tokenizer tokenizer;
    private readonly HashSet<int> specialIds;
    private readonly string sourceDirectory;

    /// <summary>For tokenizer.json files with "ignore_merges" (Llama 3): a pre-token that is itself in the vocabulary is one token.</summary>
    private readonly (HuggingFacePreTokenizer PreTokenizer, IReadOnlyDictionary<string, int> Vocabulary, IReadOnlyDictionary<string, int> Added)? wholeWords;

    private HuggingFaceTokenizer(Tokenizer tokenizer, int vocabSize, int bosId, int eosId, int padId, HashSet<int> specialIds, string sourceDirectory,
        (HuggingFacePreTokenizer, IReadOnlyDictionary<string, int>, IReadOnlyDictionary<string, int>)? wholeWords = null)
    {
        this.tokenizer = tokenizer;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
        this.specialIds = specialIds;
        this.sourceDirectory = Path.GetFullPath(sourceDirectory);
        this.wholeWords = wholeWords;
    }

    public int VocabSize { get; }
    public int BosId { get; }
    public int EosId { get; }
    public int PadId { get; }

    /// <summary>Ids of the special tokens (skipped by Decode unless asked otherwise).</summary>
    public IReadOnlySet<int> SpecialTokenIds => specialIds;

    public static HuggingFaceTokenizer FromTokenizerJson(string directory)
    {
        string path = Path.Combine(directory, TokenizerJson);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var model = root.GetProperty("model");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type != "BPE") throw new NotSupportedException($"{path}: tokenizer model type '{type}' is not supported (BPE only).");
        if (!IsByteLevel(root))
        {
            if (File.Exists(Path.Combine(directory, SentencePieceModel))) return FromSentencePiece(directory);
            throw new NotSupportedException(
                $"{path}: only byte-level BPE tokenizer.json files are supported; for SentencePiece-style tokenizers (Llama 2) provide {SentencePieceModel}, as the published repositories do.");
        }

        var vocabulary = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? string.Join(' ', m.EnumerateArray().Select(x => x.GetString())) : m.GetString()!)
            .ToList();
        var (added, specials) = AddedTokens(root);
        var preTokenizer = HuggingFacePreTokenizer.FromJson(root.GetProperty("pre_tokenizer"), added.Keys, path);
        var options = new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = added,
            PreTokenizer = preTokenizer,
        };
        var bpe = BpeTokenizer.Create(options);
        var byToken = vocabulary.GroupBy(v => v.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        int vocabSize = Math.Max(vocabulary.Count == 0 ? 0 : vocabulary.Max(v => v.Value) + 1, added.Count == 0 ? 0 : added.Values.Max() + 1);
        var (bos, eos, pad) = SpecialIds(directory, token => added.TryGetValue(token, out int id) ? id : byToken.TryGetValue(token, out int v) ? v : null);
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        return new HuggingFaceTokenizer(bpe, vocabSize, bos, eos, pad, specials, directory,
            ignoreMerges ? (preTokenizer, byToken, added) : null);
    }

    /// <summary>tokenizer.json's added_tokens (content -> id) and the ids of those marked special.</summary>
    private static (Dictionary<string, int> Added, HashSet<int> Specials) AddedTokens(JsonElement root)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var specials = new HashSet<int>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in addedTokens.EnumerateArray())
            {
                int id = token.GetProperty("id").GetInt32();
                added[token.GetProperty("content").GetString()!] = id;
                if (token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True) specials.Add(id);
            }
        }
        return (added, specials);
    }

    /// <summary>tokenizer_config.json's added_tokens_decoder (id -> {content, special}), what a directory without tokenizer.json declares.</summary>
    private static (Dictionary<string, int> Added, HashSet<int> Specials) AddedTokensDecoder(string directory)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var specials = new HashSet<int>();
        string path = Path.Combine(directory, TokenizerConfigJson);
        if (!File.Exists(path)) return (added, specials);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        if (!document.RootElement.TryGetProperty("added_tokens_decoder", out var decoder) || decoder.ValueKind != JsonValueKind.Object) return (added, specials);
        foreach (var entry in decoder.EnumerateObject())
        {
            int id = int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture);
            added[entry.Value.GetProperty("content").GetString()!] = id;
            if (entry.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True) specials.Add(id);
        }
        return (added, specials);
    }

    /// <summary>
    /// A SentencePiece tokenizer.model (Llama 2). Added tokens come from tokenizer.json when present, else from
    /// tokenizer_config.json's added_tokens_decoder, and are matched in text as whole tokens, as transformers does.
    /// </summary>
    public static HuggingFaceTokenizer FromSentencePiece(string directory)
    {
        var (added, addedSpecials) = File.Exists(Path.Combine(directory, TokenizerJson)) ? AddedTokensFromFile(directory) : AddedTokensDecoder(directory);
        using var stream = File.OpenRead(Path.Combine(directory, SentencePieceModel));
        var sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false, specialTokens: added.Count > 0 ? added : null);
        var (bos, eos, pad) = SpecialIds(directory, token => added.TryGetValue(token, out int a) ? a : sp.Vocabulary.TryGetValue(token, out int id) ? id : null);
        if (bos < 0) bos = sp.BeginningOfSentenceId;
        if (eos < 0) eos = sp.EndOfSentenceId;
        var specials = new HashSet<int>(addedSpecials) { sp.BeginningOfSentenceId, sp.EndOfSentenceId, sp.UnknownId };
        int vocabSize = Math.Max(sp.Vocabulary.Count, added.Count == 0 ? 0 : added.Values.Max() + 1);
        return new HuggingFaceTokenizer(sp, vocabSize, bos, eos, pad < 0 ? eos : pad, specials, directory);
    }

    private static (Dictionary<string, int> Added, HashSet<int> Specials) AddedTokensFromFile(string directory)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, TokenizerJson)));
        return AddedTokens(document.RootElement);
    }

    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = wholeWords is { } w ? EncodeIgnoringMerges(text, w.PreTokenizer, w.Vocabulary, w.Added) : tokenizer.EncodeToIds(text);
        if (!addBos) return ids;
        var withBos = new List<int>(ids.Count + 1) { BosId };
        withBos.AddRange(ids);
        return withBos;
    }

    private List<int> EncodeIgnoringMerges(string text, HuggingFacePreTokenizer preTokenizer, IReadOnlyDictionary<string, int> vocabulary, IReadOnlyDictionary<string, int> added)
    {
        var ids = new List<int>();
        foreach (var (offset, length) in preTokenizer.PreTokenize(text))
        {
            string piece = text.Substring(offset, length);
            if (added.TryGetValue(piece, out int special)) ids.Add(special);
            else if (vocabulary.TryGetValue(ByteLevelSymbols.Encode(piece), out int whole)) ids.Add(whole);
            else ids.AddRange(tokenizer.EncodeToIds(piece));
        }
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return tokenizer.Decode(skipSpecialTokens ? ids.Where(id => !specialIds.Contains(id)) : ids);
    }

    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        if (string.Equals(Path.GetFullPath(directory), sourceDirectory, StringComparison.Ordinal)) return;
        foreach (string file in CompanionFiles)
        {
            string source = Path.Combine(sourceDirectory, file);
            if (File.Exists(source)) File.Copy(source, Path.Combine(directory, file), overwrite: true);
        }
    }

    private static bool IsByteLevel(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object) return false;
        return Types(pre).Contains("ByteLevel");
    }

    private static IEnumerable<string> Types(JsonElement step)
    {
        yield return step.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (step.TryGetProperty("pretokenizers", out var list))
            foreach (var inner in list.EnumerateArray())
                foreach (string type in Types(inner)) yield return type;
    }

    /// <summary>bos/eos/pad from tokenizer_config.json (strings or {"content": ...}), else the ids in config.json; -1 when unknown.</summary>
    private static (int Bos, int Eos, int Pad) SpecialIds(string directory, Func<string, int?> lookup)
    {
        int bos = -1, eos = -1, pad = -1;
        string tokenizerConfig = Path.Combine(directory, TokenizerConfigJson);
        if (File.Exists(tokenizerConfig))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(tokenizerConfig));
            bos = Resolve(document.RootElement, "bos_token") ?? bos;
            eos = Resolve(document.RootElement, "eos_token") ?? eos;
            pad = Resolve(document.RootElement, "pad_token") ?? pad;
        }
        string modelConfig = Path.Combine(directory, "config.json");
        if (File.Exists(modelConfig))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(modelConfig));
            if (bos < 0) bos = FirstInt(document.RootElement, "bos_token_id") ?? bos;
            if (eos < 0) eos = FirstInt(document.RootElement, "eos_token_id") ?? eos;
            if (pad < 0) pad = FirstInt(document.RootElement, "pad_token_id") ?? pad;
        }
        return (bos, eos, pad < 0 ? eos : pad); // Llama ships no pad token: pad with EOS (masked out anyway)

        int? Resolve(JsonElement root, string key)
        {
            if (!root.TryGetProperty(key, out var value)) return null;
            string? content = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Object when value.TryGetProperty("content", out var c) => c.GetString(),
                _ => null,
            };
            return content is null ? null : lookup(content);
        }
    }

    private static int? FirstInt(JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.Number => value.GetInt32(),
            JsonValueKind.Array when value.GetArrayLength() > 0 => value[0].GetInt32(),
            _ => null,
        };
    }
}
