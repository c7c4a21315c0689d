using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using PredGen.Shared.Data;

namespace PredGen.Training.Data;

public enum SplitName { Train, Validation, Test }

/// <summary>
/// Deterministic train/validation/test assignment: groups (a speech, a word, a de-duplicated e-mail) are ordered by
/// SHA-256 of "{salt}|{group key}" and cut at the given fractions, so every row of a group lands in the same split
/// (no leakage between chunks of one speech) and the result depends on the data alone, not on file order or a RNG.
/// </summary>
public static class DeterministicSplit
{
    public const double TrainFraction = 0.8;
    public const double ValidationFraction = 0.1;

    public static string FileName(SplitName split) => split switch
    {
        SplitName.Train => DatasetSplit.TrainFile,
        SplitName.Validation => DatasetSplit.ValidationFile,
        _ => DatasetSplit.TestFile,
    };

    public static IReadOnlyDictionary<string, SplitName> AssignGroups(IEnumerable<string> groupKeys, string salt)
    {
        var ordered = groupKeys.Distinct(StringComparer.Ordinal).OrderBy(k => Hash(salt + "|" + k), StringComparer.Ordinal)
            .ThenBy(k => k, StringComparer.Ordinal).ToList();
        int trainCount = (int)Math.Round(ordered.Count * TrainFraction);
        int validationCount = (int)Math.Round(ordered.Count * ValidationFraction);
        var result = new Dictionary<string, SplitName>(StringComparer.Ordinal);
        for (int i = 0; i < ordered.Count; i++)
            result[ordered[i]] = i < trainCount ? SplitName.Train : i < trainCount + validationCount ? SplitName.Validation : SplitName.Test;
        return result;
    }

    /// <summary>Orders rows within a split by the hash of their id: a fixed shuffle, so a prefix is a random subset.</summary>
    public static IReadOnlyList<PreparedRow> Shuffle(IEnumerable<PreparedRow> rows, string salt) =>
        rows.OrderBy(r => Hash(salt + "|" + r.Id), StringComparer.Ordinal).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>SHA-256 of a split file's exact bytes: the figure the README and the determinism test compare.</summary>
    public static string FileHash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Describe(double fraction) => fraction.ToString("0.##", CultureInfo.InvariantCulture);
}
