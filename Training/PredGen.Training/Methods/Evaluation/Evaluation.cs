using PredGen.Shared.Data;

namespace PredGen.Training.Methods;

public static class Evaluation
{
    /// <summary>Predicts every row (in batches) and scores against its label or value.</summary>
    public static Metrics Evaluate(TrainedModel model, IReadOnlyList<PreparedRow> rows, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        var predictions = new List<Prediction>(rows.Count);
        for (int i = 0; i < rows.Count; i += batchSize)
        {
            var batch = rows.Skip(i).Take(batchSize).Select(r => new TextInput(r.Text, r.TextB)).ToList();
            predictions.AddRange(model.Predict(batch, withProbabilities: model.Card.TaskKind == TaskKind.Classification, withText: false));
        }
        return Score(model.Card.TaskKind, rows, predictions);
    }

    public static Metrics Score(TaskKind kind, IReadOnlyList<PreparedRow> rows, IReadOnlyList<Prediction> predictions)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(predictions);
        return kind == TaskKind.Classification
            ? Metrics.Classification(
                [.. rows.Select(r => r.Label ?? throw new InvalidDataException($"row {r.Id} has no class label"))],
                [.. predictions.Select(p => p.Label ?? throw new InvalidOperationException("a classification prediction has no label"))])
            : Metrics.Regression(
                [.. rows.Select(r => r.Value ?? throw new InvalidDataException($"row {r.Id} has no numeric label"))],
                [.. predictions.Select(p => p.Value ?? throw new InvalidOperationException("a regression prediction has no value"))]);
    }
}
