using System.Text.Json.Nodes;
using PredGen.Shared.Data;

namespace PredGen.Training.Methods;

public static class Evaluation
{
    /// <summary>Predicts every row (in batches) and scores against its label or value.</summary>
    public static Metrics Evaluate(TrainedModel model, IReadOnlyList<PreparedRow> rows, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        return Score(model.Card.TaskKind, rows, Inference.PredictRows(model.Network, rows, batchSize, withText: false));
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

    /// <summary>test_predictions.jsonl: per row its id, the gold label or value, the prediction (and its probability,
    /// and the generated text when kept).</summary>
    public static void WritePredictions(string path, IReadOnlyList<PreparedRow> rows, IReadOnlyList<Prediction> predictions)
    {
        using var writer = new StreamWriter(path, append: false);
        for (int i = 0; i < rows.Count; i++)
        {
            var o = new JsonObject { ["id"] = rows[i].Id };
            if (rows[i].Label != null)
            {
                o["label"] = rows[i].Label;
                o["predicted_label"] = predictions[i].Label;
                if (predictions[i].Probability is double pr) o["probability"] = pr;
            }
            else
            {
                o["value"] = rows[i].Value;
                o["predicted_value"] = predictions[i].Value;
            }
            if (predictions[i].GeneratedText != null) o["generated_text"] = predictions[i].GeneratedText;
            writer.WriteLine(o.ToJsonString());
        }
    }
}
