using PredGen.Shared.Data;

namespace PredGen.Shared.Tests;

public sealed class DataFormatTests
{
    [Fact]
    public void Prepared_rows_round_trip_as_json_lines_for_both_task_kinds()
    {
        var c = PreparedRow.Classification("r1", "free money", "spam", textB: "pair");
        var r = PreparedRow.Regression("r2", "\"quoted\" text", 13.4);
        Assert.Equal(c, PreparedRow.Parse(c.ToJsonLine(), "x:1"));
        Assert.Equal(r, PreparedRow.Parse(r.ToJsonLine(), "x:2"));
        Assert.Equal(TaskKind.Regression, r.Kind);
    }

    [Fact]
    public void A_bad_line_names_the_file_line_and_field()
    {
        var e = Assert.Throws<FormatException>(() => PreparedRow.Parse("{\"text\":\"a\",\"label\":[1]}", "train.jsonl:7"));
        Assert.Contains("train.jsonl:7", e.Message, StringComparison.Ordinal);
        Assert.Contains("label", e.Message, StringComparison.Ordinal);
        Assert.Contains("train.jsonl:9", Assert.Throws<FormatException>(() => PreparedRow.Parse("{oops", "train.jsonl:9")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 13.4, 2.5, 99.0 }, false, 2, 1, 2.5, "02.5")]
    [InlineData(new[] { 1790.0, 2021.0 }, false, 4, 0, 1865.0, "1865")]
    [InlineData(new[] { -1.25, 0.5 }, true, 1, 2, -0.5, "-0.50")]
    [InlineData(new[] { -1.25, 0.5 }, true, 1, 2, 0.5, "+0.50")]
    [InlineData(new[] { 3.0, 1.0 }, false, 1, 0, 12.0, "9")] // clamped: never a wrong digit count
    public void Number_formats_are_inferred_from_labels_and_format_to_a_fixed_length(double[] labels, bool hasSign, int digits, int decimals, double value, string text)
    {
        var format = NumberFormat.Infer(labels);
        Assert.Equal(new NumberFormat(hasSign, digits, decimals), format);
        Assert.Equal(text, format.Format(value));
        Assert.Equal(format.Length, text.Length);
        Assert.True(format.TryParse(text, out double parsed));
        Assert.Equal(Math.Clamp(value, -format.MaxMagnitude, format.MaxMagnitude), parsed, 6);
    }
}
