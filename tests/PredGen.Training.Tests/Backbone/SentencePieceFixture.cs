using System.Text;

namespace PredGen.Training.Tests.Backbone;

/// <summary>
/// A SentencePiece BPE model (ModelProto, protobuf wire format written by hand) shaped like Llama 2's tokenizer.model:
/// &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, 256 byte-fallback pieces, then scored pieces (higher score = earlier merge).
/// </summary>
internal static class SentencePieceFixture
{
    private static readonly string[] Pieces = ["▁", "t", "h", "e", "a", "▁t", "he", "▁the", "at", "▁h", "▁hat"];

    public static int Id(string piece) => 3 + 256 + Array.IndexOf(Pieces, piece);

    public static int VocabSize => 3 + 256 + Pieces.Length;

    /// <summary>Every piece with its id, as a tokenizer.json "vocab" lists them.</summary>
    public static IEnumerable<(string Piece, int Id)> Vocabulary()
    {
        yield return ("<unk>", 0);
        yield return ("<s>", 1);
        yield return ("</s>", 2);
        for (int b = 0; b < 256; b++) yield return ($"<0x{b:X2}>", 3 + b);
        for (int i = 0; i < Pieces.Length; i++) yield return (Pieces[i], Id(Pieces[i]));
    }

    public static void Write(string path)
    {
        using var model = new MemoryStream();
        Piece(model, "<unk>", 0, type: 2);
        Piece(model, "<s>", 0, type: 3);
        Piece(model, "</s>", 0, type: 3);
        for (int b = 0; b < 256; b++) Piece(model, $"<0x{b:X2}>", 0, type: 6);
        for (int i = 0; i < Pieces.Length; i++) Piece(model, Pieces[i], -i, type: 1);

        using var trainer = new MemoryStream();
        Varint(trainer, 3, 2);        // model_type = BPE
        Varint(trainer, 4, (ulong)(3 + 256 + Pieces.Length)); // vocab_size
        Varint(trainer, 35, 1);       // byte_fallback
        Varint(trainer, 40, 0);       // unk_id
        Varint(trainer, 41, 1);       // bos_id
        Varint(trainer, 42, 2);       // eos_id
        Varint(trainer, 43, unchecked((ulong)-1L)); // pad_id = -1
        Message(model, 2, trainer.ToArray());

        using var normalizer = new MemoryStream();
        Bytes(normalizer, 1, Encoding.UTF8.GetBytes("identity"));
        Varint(normalizer, 3, 1);     // add_dummy_prefix
        Varint(normalizer, 4, 0);     // remove_extra_whitespaces
        Varint(normalizer, 5, 1);     // escape_whitespaces
        Message(model, 3, normalizer.ToArray());
        File.WriteAllBytes(path, model.ToArray());
    }

    private static void Piece(Stream s, string piece, float score, int type)
    {
        using var m = new MemoryStream();
        Bytes(m, 1, Encoding.UTF8.GetBytes(piece));
        Tag(m, 2, 5);
        m.Write(BitConverter.GetBytes(score));
        Varint(m, 3, (ulong)type);
        Message(s, 1, m.ToArray());
    }

    private static void Message(Stream s, int field, byte[] body) => Bytes(s, field, body);

    private static void Bytes(Stream s, int field, byte[] body)
    {
        Tag(s, field, 2);
        Raw(s, (ulong)body.Length);
        s.Write(body);
    }

    private static void Varint(Stream s, int field, ulong value)
    {
        Tag(s, field, 0);
        Raw(s, value);
    }

    private static void Tag(Stream s, int field, int wireType) => Raw(s, (ulong)((field << 3) | wireType));

    private static void Raw(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }
}
