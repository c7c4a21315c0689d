using PredGen.Shared.Data;
using PredGen.Training.Checkpoints;
using PredGen.Training.Methods;
using PredGen.Training.Runtime;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Methods;

public sealed class PredictorHeadTests
{
    [Fact]
    public void Last_pooling_reads_the_last_non_padding_token_with_left_or_right_padding()
    {
        using var scope = NewDisposeScope();
        var hidden = arange(2 * 4 * 3, dtype: ScalarType.Float32).view(2, 4, 3);
        var left = tensor(new long[] { 0, 1, 1, 1, 0, 0, 1, 1 }).view(2, 4);
        var right = tensor(new long[] { 1, 1, 1, 0, 1, 1, 0, 0 }).view(2, 4);
        Assert.Equal(new float[] { 9, 10, 11, 21, 22, 23 }, PredictorHead.Pool(hidden, left, PoolingKind.Last).data<float>().ToArray());
        Assert.Equal(new float[] { 6, 7, 8, 15, 16, 17 }, PredictorHead.Pool(hidden, right, PoolingKind.Last).data<float>().ToArray());
        // Mean: positions 1..3 of row 0 → (3+6+9)/3 = 6 for the first feature.
        Assert.Equal(6f, PredictorHead.Pool(hidden, left, PoolingKind.Mean)[0, 0].item<float>());
    }

    [Fact]
    public void The_mlp_predictor_head_has_the_task_adapters_width_and_serves_from_its_saved_model()
    {
        var options = MethodFixtures.Fast(MethodKind.Predictor, TaskKind.Classification, steps: 4) with
        {
            PredictorHead = PredictorHeadKind.Mlp,
            AdapterHidden = 24,
            Pooling = PoolingKind.Last,
        };
        string outDir = MethodFixtures.NewOutput("predictor-mlp");
        var result = Trainer.Train(options, MethodFixtures.Data(TaskKind.Classification), MethodFixtures.BaseModel, outDir);

        var head = SafeTensors.Read(Path.Combine(result.ModelDirectory, ModelCard.HeadFileName));
        Assert.Equal(["dense.bias", "dense.weight", "out_proj.bias", "out_proj.weight"], head.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([24L, 32L], head["dense.weight"].shape);       // hidden 32 → the adapter's width 24
        Assert.Equal([2L, 24L], head["out_proj.weight"].shape);
        foreach (var t in head.Values) t.Dispose();

        using var model = TrainedModel.Load(result.ModelDirectory, new TorchOptions { Device = "cpu" });
        Assert.Equal(PredictorHeadKind.Mlp, model.Card.PredictorHead);
        var test = PreparedRow.ReadJsonl(Path.Combine(MethodFixtures.Data(TaskKind.Classification), "test.jsonl"));
        Assert.Equal(result.Test.Accuracy, Evaluation.Evaluate(model, test).Accuracy);
    }
}
