using System.Security.Cryptography;
using System.Text;
using PredGen.Training.Tokenization;

namespace PredGen.Training.Pretraining;

/// <summary>
/// Plain-text files (UTF-8, one paragraph per line) turned into token streams by the model's tokenizer. The last
/// <c>validationFraction</c> of each file, cut at a line start, is held out for validation and never sampled for
/// training. Training windows start at a random line start of a file chosen in proportion to its training tokens.
/// <para>Lines are tokenized one at a time (each followed by the tokenizer's encoding of "\n"), so a window that
/// starts at a line start sees exactly the tokens the tokenizer gives that text on its own, as fine-tuning will.
/// For the byte tokenizer the ids are the bytes themselves.</para>
/// <para>Validation windows record how many UTF-8 bytes of text their predicted tokens cover, so held-out loss can
/// be reported in bits per byte, which compares models whose tokenizers differ.</para>
/// </summary>
public sealed class PretrainingCorpus
{
    private readonly List<CorpusFile> _files;
    private readonly double[] _cumulativeWeight;

    private PretrainingCorpus(List<CorpusFile> files)
    {
        _files = files;
        _cumulativeWeight = new double[files.Count];
        double total = files.Sum(f => (double)f.TrainTokens), running = 0;
        for (int i = 0; i < files.Count; i++) _cumulativeWeight[i] = (running += files[i].TrainTokens / total);
    }

    public IReadOnlyList<CorpusFile> Files => _files;

    public long TrainBytes => _files.Sum(f => (long)f.TrainLength);

    public long TrainTokens => _files.Sum(f => (long)f.TrainTokens);

    public long ValidationBytes => _files.Sum(f => (long)(f.Bytes.Length - f.TrainLength));

    public static PretrainingCorpus Load(IReadOnlyList<string> paths, double validationFraction) =>
        Load(paths, validationFraction, new ByteTokenizer());

    public static PretrainingCorpus Load(IReadOnlyList<string> paths, double validationFraction, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (paths.Count == 0) throw new ArgumentException("no corpus files", nameof(paths));
        var files = new List<CorpusFile>();
        foreach (var path in paths)
        {
            byte[] bytes = File.ReadAllBytes(path);
            int cut = (int)(bytes.Length * (1 - validationFraction));
            while (cut > 0 && bytes[cut - 1] != (byte)'\n') cut--;
            var (train, trainStarts) = Tokenize(bytes, 0, cut, tokenizer);
            var (heldOut, heldOutStarts) = Tokenize(bytes, cut, bytes.Length, tokenizer);
            if (train.Length == 0) throw new InvalidDataException($"{path}: no training text before the held-out {validationFraction:P0}");
            files.Add(new CorpusFile(Path.GetFileName(path), Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes, cut,
                train, trainStarts, heldOut, heldOutStarts));
        }
        return new PretrainingCorpus(files);
    }

    /// <summary>Token ids of bytes[from..to) line by line, and the token index where each line starts.</summary>
    private static (int[] Ids, int[] LineStarts) Tokenize(byte[] bytes, int from, int to, ITextTokenizer tokenizer)
    {
        if (tokenizer is ByteTokenizer)
        {
            var ids = new int[to - from];
            var starts = new List<int> { 0 };
            for (int i = from; i < to; i++)
            {
                ids[i - from] = bytes[i];
                if (bytes[i] == (byte)'\n' && i + 1 < to) starts.Add(i + 1 - from);
            }
            return (ids, to > from ? [.. starts] : []);
        }
        var lines = new List<(int Start, int Length)>();
        for (int i = from, start = from; i < to; i++)
        {
            if (bytes[i] != (byte)'\n' && i != to - 1) continue;
            int end = bytes[i] == (byte)'\n' ? i : i + 1;
            lines.Add((start, end - start));
            start = i + 1;
        }
        int[] newline = [.. tokenizer.Encode("\n")];
        var encoded = new int[lines.Count][];
        // Tokenizers are thread-safe for encoding; lines are independent.
        Parallel.For(0, lines.Count, i =>
            encoded[i] = [.. tokenizer.Encode(Encoding.UTF8.GetString(bytes, lines[i].Start, lines[i].Length))]);
        var all = new int[encoded.Sum(e => e.Length + newline.Length)];
        var lineStarts = new int[lines.Count];
        int at = 0;
        for (int i = 0; i < encoded.Length; i++)
        {
            lineStarts[i] = at;
            encoded[i].CopyTo(all, at);
            at += encoded[i].Length;
            newline.CopyTo(all, at);
            at += newline.Length;
        }
        return (all, lineStarts);
    }

    /// <summary>A training batch [batch, length + 1] of ids: BOS, then tokens from a random line start (wrapping
    /// within the training part). The generator is the caller's, seeded per step, so a resumed run sees the same data.</summary>
    public long[] SampleBatch(Random random, int batch, int length, int bosId)
    {
        ArgumentNullException.ThrowIfNull(random);
        var ids = new long[batch * (length + 1)];
        for (int b = 0; b < batch; b++)
        {
            double u = random.NextDouble();
            int f = Array.FindIndex(_cumulativeWeight, w => u <= w);
            var file = _files[f < 0 ? _files.Count - 1 : f];
            int start = file.LineStarts[random.Next(file.LineStarts.Length)];
            int offset = b * (length + 1);
            ids[offset] = bosId;
            for (int t = 0; t < length; t++) ids[offset + 1 + t] = file.TrainIds[(start + t) % file.TrainIds.Length];
        }
        return ids;
    }

    /// <summary>Fixed validation windows: up to <paramref name="perFile"/> evenly spaced windows of each file's held-out
    /// part, each BOS + <paramref name="length"/> tokens starting at a line start, with the UTF-8 bytes their tokens
    /// decode to (the denominator of bits per byte).</summary>
    public IReadOnlyList<ValidationWindow> ValidationWindows(int perFile, int length, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var windows = new List<ValidationWindow>();
        foreach (var file in _files)
        {
            var starts = file.HeldOutLineStarts.Where(s => s + length <= file.HeldOutIds.Length).ToList();
            int count = Math.Min(perFile, starts.Count);
            for (int k = 0; k < count; k++)
            {
                int start = starts[(int)((long)k * starts.Count / count)];
                var w = new long[length + 1];
                w[0] = tokenizer.BosId;
                for (int t = 0; t < length; t++) w[t + 1] = file.HeldOutIds[start + t];
                long bytes = tokenizer is ByteTokenizer
                    ? length
                    : Encoding.UTF8.GetByteCount(tokenizer.Decode(file.HeldOutIds.AsSpan(start, length).ToArray(), skipSpecialTokens: true));
                windows.Add(new ValidationWindow(w, Math.Max(1, bytes)));
            }
        }
        return windows;
    }
}

/// <summary>BOS + tokens of held-out text, and the UTF-8 bytes of text those tokens stand for.</summary>
public sealed record ValidationWindow(long[] Ids, long Bytes);

public sealed record CorpusFile(string Name, string Sha256, byte[] Bytes, int TrainLength, int[] TrainIds, int[] LineStarts,
    int[] HeldOutIds, int[] HeldOutLineStarts)
{
    public int TrainTokens => TrainIds.Length;
}
