namespace PredGen.Training.Tokenization;

/// <summary>One interface for the project's byte-level tokenizer and Hugging Face tokenizers (tokenizer.json, tokenizer.model).</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }
    int BosId { get; }
    int EosId { get; }
    int PadId { get; }

    IReadOnlyList<int> Encode(string text, bool addBos = false);

    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);

    /// <summary>Writes the tokenizer files into a model directory (next to config.json).</summary>
    void Save(string directory);
}
