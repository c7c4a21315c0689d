namespace PredGen.Cli.Serving.Benchmark;

/// <summary>
/// CPU seconds of processes and threads on Linux, read from /proc (utime + stime, in USER_HZ ticks: 100 per second on
/// every Linux architecture .NET runs on). `predgen bench serve` uses them to say how much of the machine Azurite, the
/// load clients and the inference thread took in each phase, so the worker's efficiency is read against what it had.
/// Elsewhere (no /proc) every reading is null.
/// </summary>
public static class CpuClock
{
    private const double TicksPerSecond = 100;

    /// <summary>CPU seconds the process has used, its exited and waited-for children included; null when unreadable.</summary>
    public static double? ProcessSeconds(int pid) => StatSeconds($"/proc/{pid}/stat", withChildren: true);

    /// <summary>CPU seconds of the threads of this process whose name starts with <paramref name="threadName"/>
    /// (Linux keeps the first 15 characters of a .NET thread's name); null when none is found.</summary>
    public static double? ThreadsSeconds(string threadName)
    {
        ArgumentNullException.ThrowIfNull(threadName);
        string prefix = threadName.Length > 15 ? threadName[..15] : threadName;
        double? total = null;
        try
        {
            foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                string comm;
                try { comm = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'); }
                catch (IOException) { continue; } // the thread ended while we looked
                if (!comm.StartsWith(prefix, StringComparison.Ordinal)) continue;
                if (StatSeconds(Path.Combine(task, "stat"), withChildren: false) is { } s) total = (total ?? 0) + s;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return total;
    }

    /// <summary>Fields 14-17 of a stat line (utime, stime, cutime, cstime), counted after the command name, which is in
    /// parentheses and may itself hold spaces.</summary>
    internal static double? ParseStat(string stat, bool withChildren)
    {
        ArgumentNullException.ThrowIfNull(stat);
        int close = stat.LastIndexOf(')');
        if (close < 0) return null;
        string[] fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries); // fields[0] is field 3 (state)
        if (fields.Length < 15) return null;
        long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        if (withChildren)
            ticks += long.Parse(fields[13], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[14], System.Globalization.CultureInfo.InvariantCulture);
        return ticks / TicksPerSecond;
    }

    private static double? StatSeconds(string path, bool withChildren)
    {
        try { return ParseStat(File.ReadAllText(path), withChildren); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return null; }
    }
}
