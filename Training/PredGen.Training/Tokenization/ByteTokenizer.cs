using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredGen.Training.Tokenization;

/// <summary>
/// Byte-level tokenizer for the project's own small models: ids 0..255 are the UTF-8 bytes (so every digit, sign and
/// decimal point is one token, which PredGen's number generation relies on), followed by special tokens.
/// No merges and no unknown token: every string round-trips.
/// </summary>
public sealed class ByteTokenizer : ITextTokenizer
{
    public const string FileName = "byte_tokenizer.json";
    public const int ByteCount = 256;
    public const int PadToken = 256;
    public const int BosToken = 257;
    public const int EosToken = 258;

    /// <summary>Separates the two texts of a pair task, or prompt from answer.</summary>
    public const int SepToken = 259;

    /// <summary>Free special ids 260..263 for methods that need markers of their own.</summary>
    public const int FirstReservedToken = 260;
    public const int ReservedCount = 4;
    public const int Size = FirstReservedToken + ReservedCount;

    private static readonly string[] SpecialNames = ["<pad>", "<s>", "</s>", "<sep>", "<reserved_0>", "<reserved_1>", "<reserved_2>", "<reserved_3>"];

    public int VocabSize => Size;
    public int BosId => BosToken;
    public int EosId => EosToken;
    public int PadId => PadToken;

    public static bool IsSpecial(int id) => id >= ByteCount;

    public static string SpecialName(int id) => id is >= ByteCount and < Size
        ? SpecialNames[id - ByteCount]
        : throw new ArgumentOutOfRangeException(nameof(id), id, "not a special token id");

    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var ids = new List<int>(bytes.Length + 1);
        if (addBos) ids.Add(BosToken);
        foreach (byte b in bytes) ids.Add(b);
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var pending = new List<byte>();
        foreach (int id in ids)
        {
            if (id is >= 0 and < ByteCount)
            {
                pending.Add((byte)id);
                continue;
            }
            Flush();
            if (!skipSpecialTokens) text.Append(id is >= ByteCount and < Size ? SpecialNames[id - ByteCount] : $"<unk_{id}>");
        }
        Flush();
        return text.ToString();

        void Flush()
        {
            if (pending.Count == 0) return;
            text.Append(Encoding.UTF8.GetString(pending.ToArray())); // invalid sequences become U+FFFD
            pending.Clear();
        }
    }

    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var description = new ByteTokenizerFile("byte", Size, PadToken, BosToken, EosToken, SepToken,
            Enumerable.Range(ByteCount, Size - ByteCount).ToDictionary(SpecialName, id => id));
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(description, FileJson));
    }

    internal static ByteTokenizer Load(string path)
    {
        var description = JsonSerializer.Deserialize<ByteTokenizerFile>(File.ReadAllText(path), FileJson)
            ?? throw new InvalidDataException($"{path} is empty.");
        if (description.Type != "byte" || description.VocabSize != Size || description.PadId != PadToken
            || description.BosId != BosToken || description.EosId != EosToken)
            throw new InvalidDataException($"{path} describes a byte tokenizer with other ids than this build's ({Size} ids, pad {PadToken}, bos {BosToken}, eos {EosToken}).");
        return new ByteTokenizer();
    }

    private static readonly JsonSerializerOptions FileJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record ByteTokenizerFile(
        string Type, int VocabSize, int PadId, int BosId, int EosId, int SepId,
        [property: JsonPropertyName("special_tokens")] Dictionary<string, int> SpecialTokens);
}
