using System.Globalization;
using System.Text.Json;

namespace PredGen.Training.Mine;

/// <summary>The `predgen mine --input` format: one JSON object per line, {"z": [floats], "y": [floats]}.</summary>
public static class MinePairs
{
    public static (float[][] Z, float[][] Y) Read(string path)
    {
        var z = new List<float[]>();
        var y = new List<float[]>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string where = path + ":" + lineNumber.ToString(CultureInfo.InvariantCulture);
            try
            {
                using var doc = JsonDocument.Parse(line);
                z.Add(Vector(doc.RootElement, "z", where));
                y.Add(Vector(doc.RootElement, "y", where));
            }
            catch (JsonException e)
            {
                throw new FormatException($"{where}: not valid JSON ({e.Message})", e);
            }
        }
        return (z.ToArray(), y.ToArray());
    }

    public static void Write(string path, IReadOnlyList<float[]> z, IReadOnlyList<float[]> y)
    {
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(y);
        using var writer = new StreamWriter(path);
        for (int i = 0; i < z.Count; i++)
            writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, float[]> { ["z"] = z[i], ["y"] = y[i] }));
    }

    private static float[] Vector(JsonElement root, string name, string where)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(name, out var array))
            throw new FormatException($"{where}: field '{name}' is missing");
        if (array.ValueKind == JsonValueKind.Number) return [array.GetSingle()];
        if (array.ValueKind != JsonValueKind.Array) throw new FormatException($"{where}: field '{name}' must be an array of numbers");
        var values = new float[array.GetArrayLength()];
        int i = 0;
        foreach (var v in array.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number) throw new FormatException($"{where}: field '{name}' must hold numbers only");
            values[i++] = v.GetSingle();
        }
        return values;
    }
}
