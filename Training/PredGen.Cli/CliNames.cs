namespace PredGen.Cli;

/// <summary>Enum values on the command line in kebab-case ("inverse-sigmoid", "wdal-stabilized", "predgen").</summary>
public static class CliNames
{
    public static T Parse<T>(string value, string option) where T : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(value);
        string wanted = Normalize(value);
        foreach (var v in Enum.GetValues<T>())
            if (Normalize(v.ToString()) == wanted) return v;
        throw new ArgumentException($"{option}: '{value}' is not one of {Names<T>()}");
    }

    public static string Names<T>() where T : struct, Enum => string.Join(", ", Enum.GetValues<T>().Select(Kebab));

    public static string Kebab<T>(T value) where T : struct, Enum
    {
        var name = value.ToString();
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            // "PredGen" stays one word: the product's name is written "predgen" everywhere.
            if (i > 0 && char.IsUpper(name[i]) && name != "PredGen") sb.Append('-');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }

    private static string Normalize(string s) => s.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
}
