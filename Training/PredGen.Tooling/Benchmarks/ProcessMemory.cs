using System.Runtime.InteropServices;

using PredGen.Training.Methods;

namespace PredGen.Tooling.Benchmarks;

/// <summary>
/// This process's resident memory as Linux reports it (/proc/self/status VmRSS and VmHWM), with the peak reset
/// through /proc/self/clear_refs, so a measurement covers one operation rather than the process's whole life.
/// Native (libtorch) and managed allocations both count, which is what a memory figure for tensor I/O needs.
/// </summary>
public static class ProcessMemory
{
    public static bool IsSupported => File.Exists("/proc/self/status") && File.Exists("/proc/self/clear_refs");

    /// <summary>Resident set size now, in bytes.</summary>
    public static long ResidentBytes => StatusKilobytes("VmRSS:") * 1024;

    /// <summary>Highest resident set size since the process started or since the last <see cref="ResetPeak"/>, in bytes.</summary>
    public static long PeakResidentBytes => StatusKilobytes("VmHWM:") * 1024;

    /// <summary>MemAvailable of /proc/meminfo: what the kernel can hand out without swapping.</summary>
    public static long AvailableBytes => FieldKilobytes("/proc/meminfo", "MemAvailable:") * 1024;

    /// <summary>Starts a new peak: writing 5 to clear_refs sets VmHWM to the current VmRSS (Linux 4.0+).</summary>
    public static void ResetPeak()
    {
        // A full collection first, so garbage from earlier work neither counts now nor gets freed mid-measurement.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        ReturnFreedNativeMemory();
        File.WriteAllText("/proc/self/clear_refs", "5");
    }

    /// <summary>
    /// glibc keeps memory that libtorch freed (chunks under its adaptive mmap threshold) resident for reuse; measured
    /// from there, a later allocation that reuses it would look free. malloc_trim hands it back first.
    /// </summary>
    private static void ReturnFreedNativeMemory()
    {
        try
        {
            _ = MallocTrim(0);
        }
        catch (EntryPointNotFoundException)
        {
            // not glibc (musl): nothing retained the same way
        }
        catch (DllNotFoundException)
        {
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow
    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054

    private static long StatusKilobytes(string field) => FieldKilobytes("/proc/self/status", field);

    private static long FieldKilobytes(string file, string field)
    {
        foreach (string line in File.ReadLines(file))
        {
            if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
            string value = line[field.Length..].Trim();
            int space = value.IndexOf(' ', StringComparison.Ordinal);
            return long.Parse(space < 0 ? value : value[..space], System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"{file} has no {field} line.");
    }
}
