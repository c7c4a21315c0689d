using System.Text.Json;
using PredGen.Training.Data;
using PredGen.Tooling.Data;

namespace PredGen.Training.Tests.Data;

public sealed class PaperFormatsTests
{
    private static List<Dictionary<string, JsonElement>> Records(params string[] jsonObjects) =>
        jsonObjects.Select(j => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(j)!)
            .Select(d => new Dictionary<string, JsonElement>(d, StringComparer.OrdinalIgnoreCase)).ToList();

    [Fact]
    public void BoolQ_becomes_a_question_passage_pair_with_yes_no_labels()
    {
        var rows = PaperFormats.Convert(PaperFormats.Find("boolq"), Records(
            """{"question":"is the sky blue","passage":"The sky appears blue.","answer":true}""",
            """{"question":"is fire cold","passage":"Fire is hot.","label":0}"""), "train");

        Assert.Equal(("is the sky blue", "The sky appears blue.", "yes"), (rows[0].Text, rows[0].TextB, rows[0].Label));
        Assert.Equal("no", rows[1].Label);
        Assert.Equal("train-1", rows[1].Id);
    }

    [Fact]
    public void Stsb_from_a_quoted_tsv_is_pair_regression()
    {
        var records = PaperFormats.ReadDelimited("sentence1\tsentence2\tlabel\n\"A man, \"\"singing\"\".\"\tA man sings.\t4.25\nA cat.\tA dog.\t0.5\n", '\t');
        var rows = PaperFormats.Convert(PaperFormats.Find("stsb"), records, "dev");

        Assert.Equal(2, rows.Count);
        Assert.Equal(("A man, \"singing\".", "A man sings.", 4.25), (rows[0].Text, rows[0].TextB, rows[0].Value!.Value));
        Assert.Equal(0.5, rows[1].Value);
        Assert.Null(rows[1].Label);
    }

    [Fact]
    public void Multiple_choice_formats_list_lettered_options_and_answer_with_a_letter()
    {
        var arc = PaperFormats.Convert(PaperFormats.Find("arc"), Records(
            """{"id":"q1","question":"Which is a gas?","choices":{"text":["ice","steam"],"label":["A","B"]},"answerKey":"B"}"""), "arc");
        var wino = PaperFormats.Convert(PaperFormats.Find("winogrande"), Records(
            """{"sentence":"The cup fell because _ was slippery.","option1":"the cup","option2":"the table","answer":"1"}"""), "wg");
        var hella = PaperFormats.Convert(PaperFormats.Find("hellaswag"), Records(
            """{"ctx":"He opens the door","endings":["and walks in.","and flies.","and melts.","and sings."],"label":"0"}"""), "hs");

        Assert.Equal(("q1", "Which is a gas?\nA. ice\nB. steam", "B"), (arc[0].Id, arc[0].Text, arc[0].Label));
        Assert.Equal(("The cup fell because _ was slippery.\nA. the cup\nB. the table", "A"), (wino[0].Text, wino[0].Label));
        Assert.Equal("A", hella[0].Label);
        Assert.EndsWith("D. and sings.", hella[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Class_indices_map_to_the_preset_names_and_missing_columns_are_reported()
    {
        var rte = PaperFormats.Convert(PaperFormats.Find("rte"), Records("""{"sentence1":"A","sentence2":"B","label":1}"""), "rte");
        var error = Assert.Throws<FormatException>(() => PaperFormats.Convert(PaperFormats.Find("sick"), Records("""{"sentence_A":"x"}"""), "sick"));

        Assert.Equal("not_entailment", rte[0].Label);
        Assert.Contains("relatedness_score", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sentence1,sentence2,label\nA cat.,A dog.\n", "line 2: the record has a different number of fields than the header")]
    [InlineData("sentence1,sentence2,label\nA cat.,A dog.,0.5,extra\n", "line 2: the record has a different number of fields than the header")]
    [InlineData("sentence1,sentence2,label\n\"A cat.,A dog.,0.5\n", "a quoted field is never closed")]
    public void A_malformed_delimited_row_stops_the_conversion_instead_of_being_padded_or_cut(string csv, string reason)
    {
        var e = Assert.Throws<FormatException>(() => PaperFormats.ReadDelimited(csv, ','));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Delimited_files_read_quotes_line_breaks_in_quotes_and_skip_empty_lines_as_uploads_do()
    {
        var records = PaperFormats.ReadDelimited("text,label\r\n\"two\nlines, \"\"quoted\"\"\",1\r\n\r\nplain,0\r\n", ',');

        Assert.Equal(2, records.Count);
        Assert.Equal("two\nlines, \"quoted\"", records[0]["text"].GetString());
        Assert.Equal("0", records[1]["LABEL"].GetString()); // header names match case-insensitively
    }
}
