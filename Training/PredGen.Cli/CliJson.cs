using System.Text.Json;

namespace PredGen.Cli;

/// <summary>One JSON convention for every machine-readable output of the CLI: snake_case, compact.</summary>
public static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };
}
