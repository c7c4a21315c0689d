using System.Reflection;

namespace PredGen.Training.Runtime;

/// <summary>Build-time facts stamped into the assembly by MSBuild (see PredGen.Training.csproj).</summary>
public static class BuildInfo
{
    private static string Metadata(string key) =>
        typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value ?? "unknown";

    public static string TorchBackend => Metadata("TorchBackend");
    public static string LibTorchVersion => Metadata("LibTorchVersion");
}
