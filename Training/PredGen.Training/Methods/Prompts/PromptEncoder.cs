using PredGen.Training.Tokenization;

namespace PredGen.Training.Methods;

/// <summary>Turns a <see cref="PromptTemplate"/> and an input into token ids.</summary>
public static class PromptEncoder
{
    /// <summary>
    /// Token ids of the prompt: BOS, then the template's literal parts and the texts, each encoded on its own, so a
    /// long text is cut (its end dropped) without touching the template and the answer always follows "Answer: ".
    /// </summary>
    public static int[] Encode(PromptTemplate template, ITextTokenizer tokenizer, TextInput input, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(input);
        var pieces = PromptTemplate.Split(input.TextB != null ? template.PairTemplate : template.Template);
        var encoded = new List<(bool IsText, List<int> Ids)>();
        foreach (var (literal, slot) in pieces)
        {
            if (literal.Length > 0) encoded.Add((false, [.. tokenizer.Encode(literal)]));
            if (slot != null) encoded.Add((true, [.. tokenizer.Encode(slot == PromptTemplate.TextSlot ? input.Text : input.TextB ?? "")]));
        }
        int fixedLength = 1 + encoded.Where(e => !e.IsText).Sum(e => e.Ids.Count);
        int budget = Math.Max(0, maxTokens - fixedLength);
        var texts = encoded.Where(e => e.IsText).Select(e => e.Ids).OrderBy(t => t.Count).ToList();
        // Share the budget: the shorter text keeps everything it can, the rest goes to the longer one.
        for (int k = 0; k < texts.Count; k++)
        {
            int keep = Math.Min(texts[k].Count, budget / (texts.Count - k));
            texts[k].RemoveRange(keep, texts[k].Count - keep);
            budget -= keep;
        }
        var ids = new List<int>(maxTokens) { tokenizer.BosId };
        foreach (var e in encoded) ids.AddRange(e.Ids);
        return [.. ids];
    }
}
