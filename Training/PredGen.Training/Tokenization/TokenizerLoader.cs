namespace PredGen.Training.Tokenization;

/// <summary>Finds the tokenizer of a model directory: byte_tokenizer.json, else tokenizer.json (Hugging Face), else tokenizer.model (SentencePiece).</summary>
public static class TokenizerLoader
{
    public static ITextTokenizer Load(string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        string bytePath = Path.Combine(modelDirectory, ByteTokenizer.FileName);
        if (File.Exists(bytePath)) return ByteTokenizer.Load(bytePath);
        string hfPath = Path.Combine(modelDirectory, HuggingFaceTokenizer.TokenizerJson);
        if (File.Exists(hfPath)) return HuggingFaceTokenizer.FromTokenizerJson(modelDirectory);
        string spPath = Path.Combine(modelDirectory, HuggingFaceTokenizer.SentencePieceModel);
        if (File.Exists(spPath)) return HuggingFaceTokenizer.FromSentencePiece(modelDirectory);
        throw new FileNotFoundException(
            $"No tokenizer in {modelDirectory}: expected {ByteTokenizer.FileName}, {HuggingFaceTokenizer.TokenizerJson} or {HuggingFaceTokenizer.SentencePieceModel}.");
    }
}
