using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Methods;

namespace PredGen.Training.Tests.Methods;

public sealed class TrainerSplitTests
{
    private static List<PreparedRow> Rows(int count) =>
        [.. Enumerable.Range(0, count).Select(i => PreparedRow.Classification($"row-{i}", $"text {i} {(i % 2 == 0 ? "good" : "bad")}", i % 2 == 0 ? "pos" : "neg"))];

    [Fact]
    public void The_carved_validation_split_is_a_tenth_of_train_chosen_by_row_id_hash_whatever_the_file_order()
    {
        var rows = Rows(45);
        var (train, validation, description) = TrainingData.CarveValidation(rows);
        Assert.Equal(4, validation.Count);                               // round(45 × 0.1) = 4 (banker's rounding of 4.5)
        Assert.Equal(41, train.Count);
        Assert.Empty(train.Select(r => r.Id).Intersect(validation.Select(r => r.Id)));
        Assert.Equal(rows.Select(r => r.Id).Order(), train.Concat(validation).Select(r => r.Id).Order());
        Assert.Contains("carved from train.jsonl", description, StringComparison.Ordinal);

        var shuffled = rows.AsEnumerable().Reverse().ToList();
        var (_, again, _) = TrainingData.CarveValidation(shuffled);
        Assert.Equal(validation.Select(r => r.Id).Order(), again.Select(r => r.Id).Order());
        Assert.Single(TrainingData.CarveValidation(Rows(3)).Validation);      // at least one row, and at least one left to train on
        Assert.Throws<InvalidDataException>(() => TrainingData.CarveValidation(Rows(1)));
    }

    [Fact]
    public void Without_validation_and_test_files_metrics_json_says_validation_was_carved_and_there_is_no_test_split()
    {
        string data = MethodFixtures.NewOutput("train-only");
        PreparedRow.WriteJsonl(Path.Combine(data, "train.jsonl"), Rows(30));
        string outDir = MethodFixtures.NewOutput("train-only-run");
        var result = Trainer.Train(MethodFixtures.Fast(MethodKind.Predictor, TaskKind.Classification, steps: 2), data, MethodFixtures.BaseModel, outDir);

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, Trainer.MetricsFileName)));
        var root = metrics.RootElement;
        Assert.Equal(Trainer.NoTestSplit, root.GetProperty("test_split").GetString());
        Assert.Equal(0, root.GetProperty("test").GetProperty("count").GetInt32());
        Assert.False(root.GetProperty("test").TryGetProperty("accuracy", out _), "no metric stands in for the missing test split");
        Assert.StartsWith("carved from train.jsonl", root.GetProperty("validation_split").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, root.GetProperty("validation").GetProperty("count").GetInt32());
        Assert.False(File.Exists(Path.Combine(outDir, Trainer.TestPredictionsFileName)));
        Assert.Equal(3, result.Validation!.Count);

        string withFiles = MethodFixtures.NewOutput("all-splits-run");
        var full = Trainer.Train(MethodFixtures.Fast(MethodKind.Predictor, TaskKind.Classification, steps: 2), MethodFixtures.Data(TaskKind.Classification), MethodFixtures.BaseModel, withFiles);
        Assert.Equal("test.jsonl", full.TestSplit);
        Assert.Equal("validation.jsonl", full.ValidationSplit);
        Assert.True(full.Test.Count > 0);
    }
}
