using System.Globalization;
using PredGen.Shared.Data;
using PredGen.Training.Data;

namespace PredGen.Training.Methods;

/// <summary>
/// The rows a run trains and validates on, and the order it sees them in: the prepared splits (checked against the
/// task kind), a validation split carved from train when there is none, and seeded batches that depend only on
/// (seed, step), so a resumed run sees the same batches as an uninterrupted one.
/// </summary>
internal static class TrainingData
{
    /// <summary>Share of train.jsonl held out for validation when there is no validation.jsonl.</summary>
    public const double CarvedValidationFraction = 0.1;

    private const string CarveSalt = "validation";

    public static IReadOnlyList<PreparedRow> ReadSplit(string dataDir, string split, TaskKind kind, bool required)
    {
        string path = Path.Combine(dataDir, DatasetSplit.FileName(split));
        if (!File.Exists(path))
        {
            if (required) throw new FileNotFoundException($"{path} is missing", path);
            return [];
        }
        var rows = PreparedRow.ReadJsonl(path);
        foreach (var r in rows)
            if (r.Kind != kind)
                throw new InvalidDataException($"{path}: row {r.Id} has a {(r.Kind == TaskKind.Classification ? "string" : "numeric")} label but the task kind is {kind.ToString().ToLowerInvariant()}");
        return rows;
    }

    /// <summary>
    /// Without a validation file, a validation split carved from train: the rows with the lowest SHA-256 of
    /// "validation|{id}", <see cref="CarvedValidationFraction"/> of them (at least one, leaving at least one to train on).
    /// It depends on the row ids alone (not on the seed or the file order), so every method and seed of a run validates
    /// on the same rows; the description goes into metrics.json.
    /// </summary>
    public static (IReadOnlyList<PreparedRow> Train, IReadOnlyList<PreparedRow> Validation, string Description) CarveValidation(IReadOnlyList<PreparedRow> train)
    {
        if (train.Count < 2)
            throw new InvalidDataException($"without a {DatasetSplit.ValidationFile} the trainer carves validation rows from {DatasetSplit.TrainFile}, which needs at least 2 rows (it has {train.Count})");
        int count = Math.Clamp((int)Math.Round(train.Count * CarvedValidationFraction), 1, train.Count - 1);
        var ordered = train.Select((row, index) => (Row: row, Index: index, Key: DeterministicSplit.Hash(CarveSalt + "|" + row.Id)))
            .OrderBy(x => x.Key, StringComparer.Ordinal).ThenBy(x => x.Index).ToList();
        var chosen = ordered.Take(count).Select(x => x.Index).ToHashSet();
        var validation = ordered.Take(count).OrderBy(x => x.Index).Select(x => x.Row).ToList();
        var rest = train.Where((_, index) => !chosen.Contains(index)).ToList();
        string description = string.Create(CultureInfo.InvariantCulture,
            $"carved from {DatasetSplit.TrainFile} (no {DatasetSplit.ValidationFile}): {count} of {train.Count} rows, those with the lowest SHA-256 of \"{CarveSalt}|{{id}}\"");
        return (rest, validation, description);
    }

    /// <summary>Rows [start, start+count) of the endless stream of epochs, each a seeded permutation of the training set.</summary>
    public static List<PreparedRow> Batch(IReadOnlyList<PreparedRow> train, int seed, int start, int count)
    {
        var batch = new List<PreparedRow>(count);
        int n = train.Count;
        int[]? order = null;
        int orderEpoch = -1;
        for (int slot = start; slot < start + count; slot++)
        {
            int epoch = slot / n;
            if (epoch != orderEpoch)
            {
                order = Enumerable.Range(0, n).ToArray();
                new Random((int)(Mix(seed, epoch, 0xda7a) & 0x7fffffff)).Shuffle(order);
                orderEpoch = epoch;
            }
            batch.Add(train[order![slot % n]]);
        }
        return batch;
    }

    /// <summary>A 64-bit mix of (seed, step, salt): the seed of everything random at one step.</summary>
    public static long Mix(int seed, int step, int salt)
    {
        ulong x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)step * 0xBF58476D1CE4E5B9UL ^ (ulong)(uint)salt * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        x *= 0xD6E8FEB86659FD93UL;
        x ^= x >> 32;
        return (long)(x & 0x7fffffffffffffffUL);
    }
}
