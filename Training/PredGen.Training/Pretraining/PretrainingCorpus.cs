using System.Security.Cryptography;

namespace PredGen.Training.Pretraining;

/// <summary>
/// Plain-text files read as UTF-8 bytes (the byte tokenizer's ids are the bytes themselves). The last
/// <c>validationFraction</c> of each file, cut at a line start, is held out for validation and never sampled for
/// training. Training windows start at a random line start of a file chosen in proportion to its training size.
/// </summary>
public sealed class PretrainingCorpus
{
    private readonly List<CorpusFile> _files;
    private readonly double[] _cumulativeWeight;

    private PretrainingCorpus(List<CorpusFile> files)
    {
        _files = files;
        _cumulativeWeight = new double[files.Count];
        double total = files.Sum(f => (double)f.TrainLength), running = 0;
        for (int i = 0; i < files.Count; i++) _cumulativeWeight[i] = (running += files[i].TrainLength / total);
    }

    public IReadOnlyList<CorpusFile> Files => _files;

    public long TrainBytes => _files.Sum(f => (long)f.TrainLength);

    public long ValidationBytes => _files.Sum(f => (long)(f.Bytes.Length - f.TrainLength));

    public static PretrainingCorpus Load(IReadOnlyList<string> paths, double validationFraction)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new ArgumentException("no corpus files", nameof(paths));
        var files = new List<CorpusFile>();
        foreach (var path in paths)
        {
            byte[] bytes = File.ReadAllBytes(path);
            int cut = (int)(bytes.Length * (1 - validationFraction));
            while (cut > 0 && bytes[cut - 1] != (byte)'\n') cut--;
            var lineStarts = new List<int> { 0 };
            for (int i = 0; i < cut - 1; i++) if (bytes[i] == (byte)'\n') lineStarts.Add(i + 1);
            files.Add(new CorpusFile(Path.GetFileName(path), Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes, cut, lineStarts.ToArray()));
        }
        return new PretrainingCorpus(files);
    }

    /// <summary>A training batch [batch, length + 1] of ids: BOS, then bytes from a random line start (wrapping
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
            for (int t = 0; t < length; t++) ids[offset + 1 + t] = file.Bytes[(start + t) % file.TrainLength];
        }
        return ids;
    }

    /// <summary>Fixed validation windows: up to <paramref name="perFile"/> evenly spaced windows of each file's held-out
    /// part, each BOS + <paramref name="length"/> bytes starting at a line start.</summary>
    public IReadOnlyList<long[]> ValidationWindows(int perFile, int length, int bosId)
    {
        var windows = new List<long[]>();
        foreach (var file in _files)
        {
            int heldOut = file.Bytes.Length - file.TrainLength;
            if (heldOut < length) continue;
            var starts = new List<int> { file.TrainLength };
            for (int i = file.TrainLength; i < file.Bytes.Length - length; i++) if (file.Bytes[i] == (byte)'\n') starts.Add(i + 1);
            starts.RemoveAll(s => s + length > file.Bytes.Length);
            int count = Math.Min(perFile, starts.Count);
            for (int k = 0; k < count; k++)
            {
                int start = starts[(int)((long)k * starts.Count / count)];
                var w = new long[length + 1];
                w[0] = bosId;
                for (int t = 0; t < length; t++) w[t + 1] = file.Bytes[start + t];
                windows.Add(w);
            }
        }
        return windows;
    }
}

public sealed record CorpusFile(string Name, string Sha256, byte[] Bytes, int TrainLength, int[] LineStarts);
