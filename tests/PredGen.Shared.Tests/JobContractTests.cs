using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Storage;

namespace PredGen.Shared.Tests;

/// <summary>The typed fields between the pipeline and its jobs (issue 17 item 1).</summary>
public sealed class JobContractTests
{
    private enum Method { Predictor, Generator, PredGen }

    private static JobMessage Job(string method) => new()
    {
        JobId = "predgen-s1", Kind = JobKind.Train, Task = "t", RunId = "r", NotifyInstanceId = "i", Method = method,
    };

    [Fact]
    public void The_answer_format_and_the_mine_source_survive_the_job_message_as_snake_case_fields()
    {
        var job = Job("PredGen") with
        {
            AnswerFormat = new AnswerFormat { NumberFormat = new NumberFormat(HasSign: true, IntegerDigits: 2, Decimals: 3) },
            SourceJobId = "predgen-s1",
        };

        string json = job.ToJson();
        var back = JobMessage.Parse(json);

        Assert.Contains("\"answer_format\":{\"number_format\":{\"signed\":true,\"integer_digits\":2,\"decimals\":3", json, StringComparison.Ordinal);
        Assert.Contains("\"source_job_id\":\"predgen-s1\"", json, StringComparison.Ordinal);
        Assert.Equal(job.AnswerFormat.NumberFormat, back.AnswerFormat!.NumberFormat);
        Assert.Equal("predgen-s1", back.SourceJobId);
        Assert.DoesNotContain("answer_format", Job("PredGen").ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_method_parses_in_any_casing_and_an_unknown_one_names_the_field_and_the_choices()
    {
        Assert.Equal(Method.PredGen, Job("predgen").MethodAs<Method>());
        Assert.Equal(Method.Predictor, Job(" PREDICTOR ").MethodAs<Method>());

        var e = Assert.Throws<FormatException>(() => Job("Transformer").MethodAs<Method>());
        Assert.Equal("job predgen-s1: field 'method' is 'Transformer', expected one of Predictor, Generator, PredGen", e.Message);
    }

    [Fact]
    public void Mine_metrics_travel_as_readable_keys_and_read_back_into_the_same_record()
    {
        var metrics = new MineMetrics(
            [new MineRepresentationResult("token", 0, null, null, Estimable: false, Rows: 48, HeldOutRows: 10),
             new MineRepresentationResult("pooled", 0.4, 0.35, 0.45, Estimable: true, Rows: 1200, HeldOutRows: 240)],
            PoolingLossNats: 0.2);

        var keys = metrics.ToMetrics();

        Assert.Equal(
            ["pooled_ci_high", "pooled_ci_low", "pooled_estimable", "pooled_estimate_nats", "pooled_held_out_rows", "pooled_rows", "pooling_loss_nats",
             "token_estimable", "token_estimate_nats", "token_held_out_rows", "token_rows"],
            keys.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.4, keys["pooled_estimate_nats"]);
        var back = MineMetrics.FromMetrics(keys);
        Assert.Equal(metrics.Estimates, back.Estimates);
        Assert.Equal(0.2, back.PoolingLossNats);
        Assert.Null(back.TargetEntropyNats);
    }

    [Fact]
    public void The_prepared_split_files_are_named_in_one_place()
    {
        Assert.Equal(["train.jsonl", "validation.jsonl", "test.jsonl"], DatasetSplit.All.Select(DatasetSplit.FileName));
        Assert.Equal([DatasetSplit.TrainFile, DatasetSplit.ValidationFile, DatasetSplit.TestFile], DatasetSplit.All.Select(DatasetSplit.FileName));
        Assert.Equal("runs/t/r/prepared/validation.jsonl", BlobLayout.Prepared("t", "r", DatasetSplit.Validation));
    }

    [Fact]
    public void A_trainer_deciding_alone_gets_the_preparers_format_for_the_same_values()
    {
        double[] values = [1.125, 2.25, 9.0];
        var rows = values.Select((v, i) => PreparedRow.Regression(i.ToString(System.Globalization.CultureInfo.InvariantCulture), "x" + i, v)).ToList();
        using var input = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Concat(
            Enumerable.Range(0, 30).Select(i => $"{{\"text\":\"row {i}\",\"label\":{values[i % 3].ToString(System.Globalization.CultureInfo.InvariantCulture)}}}\n"))));

        var prepared = DatasetPreparer.Prepare(input, "values.jsonl").Stats.NumberFormat;

        Assert.Equal(new NumberFormat(HasSign: false, IntegerDigits: 1, Decimals: 3), prepared);
        Assert.Equal(prepared, AnswerFormat.Of(TaskKind.Regression, rows).NumberFormat);
    }
}
