using ScottPlot;
using SkiaSharp;

namespace PredGen.Workflows.Reporting;

/// <summary>
/// The plots' font, loaded from the assembly: SkiaSharp's Linux "NoDependencies" native build (the one ScottPlot
/// brings) does not ask fontconfig, and a bare Debian or a Functions host may have no font at all, which leaves plots
/// without text. An embedded Liberation Sans renders the same everywhere.
/// </summary>
internal static class ReportFonts
{
    public const string Family = "Liberation Sans";
    private static readonly object Gate = new();
    private static bool _registered;

    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (_registered) return;
            Fonts.FontResolvers.Insert(0, new EmbeddedFontResolver());
            _registered = true;
        }
    }

    private sealed class EmbeddedFontResolver : IFontResolver
    {
        private readonly SKTypeface _regular = Load("LiberationSans-Regular.ttf");
        private readonly SKTypeface _bold = Load("LiberationSans-Bold.ttf");

        private static SKTypeface Load(string file)
        {
            using var stream = typeof(ReportFonts).Assembly.GetManifestResourceStream("PredGen.Workflows.Reporting.Fonts." + file)
                ?? throw new InvalidOperationException($"embedded font {file} is missing from {typeof(ReportFonts).Assembly.GetName().Name}");
            return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException($"embedded font {file} cannot be read");
        }

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            string.Equals(fontName, Family, StringComparison.OrdinalIgnoreCase) ? (weight >= FontWeight.SemiBold ? _bold : _regular) : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            string.Equals(fontName, Family, StringComparison.OrdinalIgnoreCase) ? (bold ? _bold : _regular) : null;
    }
}
