using System.Text;
using PredGen.Training.Tokenization;

namespace PredGen.Training.Tests.Backbone;

public sealed class TokenizerTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("predgen-tok-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Byte_tokenizer_maps_each_utf8_byte_to_one_id_so_digits_are_single_tokens()
    {
        var tokenizer = new ByteTokenizer();
        Assert.Equal([48, 46, 55, 53], tokenizer.Encode("0.75"));                 // '0' '.' '7' '5'
        Assert.Equal([257, 45, 49, 50], tokenizer.Encode("-12", addBos: true));
        Assert.Equal(Encoding.UTF8.GetBytes("é✓").Select(b => (int)b), tokenizer.Encode("é✓"));
        Assert.Equal(264, tokenizer.VocabSize);
        Assert.Equal((256, 257, 258), (tokenizer.PadId, tokenizer.BosId, tokenizer.EosId));
        Assert.Equal(259, ByteTokenizer.SepToken);
    }

    [Fact]
    public void Byte_tokenizer_decodes_back_and_skips_or_names_special_tokens()
    {
        var tokenizer = new ByteTokenizer();
        string text = "Ünïcödé text, 3.14 ✓";
        var ids = tokenizer.Encode(text, addBos: true).Append(ByteTokenizer.EosToken).ToList();
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.Equal("<s>a<sep>b</s><pad>", tokenizer.Decode([257, 97, 259, 98, 258, 256], skipSpecialTokens: false));
        Assert.Equal("\uFFFD", tokenizer.Decode([0xE2, 0x9C])); // a cut multi-byte sequence does not throw
    }

    [Fact]
    public void The_loader_finds_the_byte_tokenizer_a_model_directory_was_saved_with()
    {
        new ByteTokenizer().Save(root);
        Assert.True(File.Exists(Path.Combine(root, ByteTokenizer.FileName)));
        Assert.IsType<ByteTokenizer>(TokenizerLoader.Load(root));
        Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(Path.Combine(root, "nothing")));
    }

    [Fact]
    public void A_byte_level_bpe_tokenizer_json_applies_its_merges_and_round_trips()
    {
        HuggingFaceFixture.Write(root);
        var tokenizer = TokenizerLoader.Load(root);
        var ids = tokenizer.Encode("the the in", addBos: true);
        // "the" -> t,h,e -> "he" merge -> [t, he]; " the" -> "Ġt" + "he" -> "Ġthe"; " in" -> "Ġ" + "in".
        var expected = new[] { 100, Id("t"), Id("he"), Id("Ġthe"), Id("Ġ"), Id("in") };
        Assert.Equal(expected, ids);
        Assert.Equal("the the in", tokenizer.Decode(ids));
        Assert.Equal(100, tokenizer.BosId);
        Assert.Equal(101, tokenizer.EosId);

        string copy = Path.Combine(root, "copy");
        tokenizer.Save(copy);
        Assert.Equal(ids, TokenizerLoader.Load(copy).Encode("the the in", addBos: true));

        static int Id(string token) => HuggingFaceFixture.VocabId(token);
    }

    [Fact]
    public void A_sentencepiece_tokenizer_model_loads_and_round_trips()
    {
        SentencePieceFixture.Write(Path.Combine(root, "tokenizer.model"));
        var tokenizer = TokenizerLoader.Load(root);
        Assert.IsType<HuggingFaceTokenizer>(tokenizer);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal(2, tokenizer.EosId);
        var ids = tokenizer.Encode("the hat", addBos: true);
        Assert.Equal(1, ids[0]);
        Assert.Contains(SentencePieceFixture.Id("▁the"), ids);
        Assert.Equal("the hat", tokenizer.Decode(ids));
        Assert.Equal("the hat", tokenizer.Decode(tokenizer.Encode("the hat")));
    }
}
