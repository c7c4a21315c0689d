namespace PredGen.Training.Methods;

/// <summary>
/// What scheduled sampling feeds at PredGen's answer positions (<see cref="ScheduledSampling"/> draws where; this says
/// what): per row, the model's own greedy token where the mask is set and the own answer has a token there, the gold
/// token elsewhere. The targets stay gold (<see cref="WriterTargets"/>).
/// </summary>
internal static class OwnTokenFeeding
{
    /// <param name="gold">The gold answer tokens per row.</param>
    /// <param name="own">The model's own greedy answer per row, decoded under the answer grammar.</param>
    /// <param name="mask">[rows, positions] where to feed the own token; null feeds the gold answer throughout.</param>
    /// <returns>The fed tokens per row (the gold answer's length), and the rows whose fed tokens are not their own
    /// answer: the task adapter reads the own answer's states, so those rows need it as an extra row.</returns>
    public static (int[][] Fed, List<int> ExtraRows) Mix(IReadOnlyList<int[]> gold, IReadOnlyList<int[]> own, bool[,]? mask)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(own);
        var fed = new int[gold.Count][];
        var extra = new List<int>();
        for (int b = 0; b < gold.Count; b++)
        {
            fed[b] = (int[])gold[b].Clone();
            for (int t = 0; t < fed[b].Length && mask != null && t < mask.GetLength(1); t++)
                if (mask[b, t] && t < own[b].Length) fed[b][t] = own[b][t];
            if (!fed[b].AsSpan().SequenceEqual(own[b])) extra.Add(b);
        }
        return (fed, extra);
    }
}
