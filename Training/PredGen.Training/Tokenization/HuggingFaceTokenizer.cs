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
    private static readonly string[] CompanionFiles = [TokenizerJson, SentencePieceModel, "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>GPT-2's pre-tokenisation split, used when a byte-level tokenizer.json names no Split pattern of its own.</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Tokenizer tokenizer;
    private readonly HashSet<int> specialIds;
    private readonly string sourceDirectory;

    private HuggingFaceTokenizer(Tokenizer tokenizer, int vocabSize, int bosId, int eosId, int padId, HashSet<int> specialIds, string sourceDirectory)
    {
        this.tokenizer = tokenizer;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
        this.specialIds = specialIds;
        this.sourceDirectory = Path.GetFullPath(sourceDirectory);
    }

    public int VocabSize { get; }
    public int BosId { get; }
    public int EosId { get; }
    public int PadId { get; }

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
                $"{path}: only byte-level BPE tokenizer.json files are supported; for SentencePiece-style tokenizers provide {SentencePieceModel}.");
        }

        var vocabulary = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? string.Join(' ', m.EnumerateArray().Select(x => x.GetString())) : m.GetString()!)
            .ToList();
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var specials = new HashSet<int>();
        if (root.TryGetProperty("added_tokens", out var addedTokens))
        {
            foreach (var token in addedTokens.EnumerateArray())
            {
                int id = token.GetProperty("id").GetInt32();
                added[token.GetProperty("content").GetString()!] = id;
                if (token.TryGetProperty("special", out var s) && s.GetBoolean()) specials.Add(id);
            }
        }
        string pattern = SplitPattern(root) ?? Gpt2Pattern;
        var options = new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = added,
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), added),
        };
        var bpe = BpeTokenizer.Create(options);
        int vocabSize = Math.Max(vocabulary.Count == 0 ? 0 : vocabulary.Max(v => v.Value) + 1, added.Count == 0 ? 0 : added.Values.Max() + 1);
        var (bos, eos, pad) = SpecialIds(directory, token => added.TryGetValue(token, out int id) ? id
            : vocabulary.FirstOrDefault(v => v.Key == token) is { Key: not null } kv ? kv.Value : null);
        return new HuggingFaceTokenizer(bpe, vocabSize, bos, eos, pad, specials, directory);
    }

    public static HuggingFaceTokenizer FromSentencePiece(string directory)
    {
        using var stream = File.OpenRead(Path.Combine(directory, SentencePieceModel));
        var sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        var (bos, eos, pad) = SpecialIds(directory, token => sp.Vocabulary.TryGetValue(token, out int id) ? id : null);
        if (bos < 0) bos = sp.BeginningOfSentenceId;
        if (eos < 0) eos = sp.EndOfSentenceId;
        var specials = new HashSet<int> { sp.BeginningOfSentenceId, sp.EndOfSentenceId, sp.UnknownId };
        return new HuggingFaceTokenizer(sp, sp.Vocabulary.Count, bos, eos, pad < 0 ? eos : pad, specials, directory);
    }

    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = tokenizer.EncodeToIds(text);
        if (!addBos) return ids;
        var withBos = new List<int>(ids.Count + 1) { BosId };
        withBos.AddRange(ids);
        return withBos;
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

    private static string? SplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object) return null;
        foreach (var element in Flatten(pre))
        {
            if (element.TryGetProperty("type", out var type) && type.GetString() == "Split"
                && element.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var regex))
                return regex.GetString();
        }
        return null;
    }

    private static IEnumerable<string> Types(JsonElement pre) =>
        Flatten(pre).Select(e => e.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "");

    private static IEnumerable<JsonElement> Flatten(JsonElement pre)
    {
        yield return pre;
        if (pre.TryGetProperty("pretokenizers", out var list))
            foreach (var inner in list.EnumerateArray()) yield return inner;
    }

    /// <summary>bos/eos/pad from tokenizer_config.json (strings or {"content": ...}), else the ids in config.json; -1 when unknown.</summary>
    private static (int Bos, int Eos, int Pad) SpecialIds(string directory, Func<string, int?> lookup)
    {
        int bos = -1, eos = -1, pad = -1;
        string tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
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
