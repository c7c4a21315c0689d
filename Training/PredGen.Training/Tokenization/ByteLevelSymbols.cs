using System.Text;

namespace PredGen.Training.Tokenization;

/// <summary>
/// GPT-2's bytes_to_unicode: each UTF-8 byte as one printable symbol (printable Latin-1 bytes stand for themselves,
/// the rest map to U+0100 upwards, so a space is 'Ġ'). Byte-level BPE vocabularies are written in these symbols.
/// </summary>
public static class ByteLevelSymbols
{
    private static readonly char[] ByByte = Build();

    private static char[] Build()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }

    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var symbols = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) symbols[i] = ByByte[bytes[i]];
        return new string(symbols);
    }
}
