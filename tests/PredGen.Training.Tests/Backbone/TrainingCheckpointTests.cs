using System.Text.Json;
using PredGen.Training.Checkpoints;
using PredGen.Training.Optimization;
using TorchSharp.Modules;
using AdamW = PredGen.Training.Optimization.AdamW;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

public sealed class TrainingCheckpointTests : IDisposable
{
    private sealed record LoopState(int Step, string Note);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "predgen-ckpt-" + Guid.NewGuid().ToString("N"));
    private readonly Parameter _weight = new(tensor(new float[] { 1, 2, 3, 4 }).view(2, 2));

    public void Dispose()
    {
        _weight.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private List<(string Name, Parameter Parameter)> Named => [("w", _weight)];

    private AdamW Optimizer() => new(Named.Select(p => (p.Name, p.Parameter, 1.0)), 0.9, 0.999, 1e-8, 0);

    private void TakeStep(AdamW optimizer)
    {
        _weight.grad = ones(2, 2);
        optimizer.Step(0.1);
        optimizer.ZeroGrad();
    }

    [Fact]
    public void A_checkpoint_restores_the_weights_the_moments_and_the_loop_state()
    {
        using var optimizer = Optimizer();
        TakeStep(optimizer);
        TrainingCheckpoint.Save(_dir, 1, new LoopState(1, "after one"), Named, optimizer, Json);
        var saved = _weight.data<float>().ToArray();
        TakeStep(optimizer);
        var afterTwo = _weight.data<float>().ToArray();

        using var restoredOptimizer = Optimizer();
        var state = TrainingCheckpoint.Restore<LoopState>(_dir, Named, restoredOptimizer, Json);
        Assert.Equal(new LoopState(1, "after one"), state);
        Assert.Equal(saved, _weight.data<float>().ToArray());
        Assert.Equal(1, restoredOptimizer.StepCount);
        TakeStep(restoredOptimizer); // the same second step as before the save: the moments came back too
        Assert.Equal(afterTwo, _weight.data<float>().ToArray());
    }

    [Fact]
    public void Weights_written_without_their_commit_leave_the_previous_checkpoint_whole()
    {
        using var optimizer = Optimizer();
        TrainingCheckpoint.Save(_dir, 10, new LoopState(10, "committed"), Named, optimizer, Json);
        var committed = _weight.data<float>().ToArray();
        // A process killed after writing step 20's weights and before renaming its state.json into place.
        TakeStep(optimizer);
        File.Copy(Path.Combine(_dir, "state-0000010.safetensors"), Path.Combine(_dir, "state-0000020.safetensors"));
        File.WriteAllText(Path.Combine(_dir, "state.json.tmp"), "{\"step\": 20, \"note\": \"torn");

        var state = TrainingCheckpoint.Restore<LoopState>(_dir, Named, Optimizer(), Json);
        Assert.Equal(10, state.Step);
        Assert.Equal(committed, _weight.data<float>().ToArray());

        TrainingCheckpoint.Save(_dir, 30, new LoopState(30, "next"), Named, optimizer, Json);
        Assert.Equal(["state-0000030.safetensors", "state.json"], Directory.GetFiles(_dir).Select(Path.GetFileName).Where(f => !f!.EndsWith(".tmp", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_fine_tuning_checkpoint_of_the_layout_before_weights_were_named_by_step_still_restores()
    {
        using var optimizer = Optimizer();
        TakeStep(optimizer);
        TrainingCheckpoint.Save(_dir, 5, new LoopState(5, "old"), Named, optimizer, Json);
        var saved = _weight.data<float>().ToArray();
        File.Move(Path.Combine(_dir, "state-0000005.safetensors"), Path.Combine(_dir, "state.safetensors"));
        File.WriteAllText(Path.Combine(_dir, "state.json"), "{\"step\":5,\"note\":\"old\",\"optimizer_steps\":1}");
        TakeStep(optimizer);

        using var restored = Optimizer();
        Assert.Equal(new LoopState(5, "old"), TrainingCheckpoint.Restore<LoopState>(_dir, Named, restored, Json));
        Assert.Equal(saved, _weight.data<float>().ToArray());
        Assert.Equal(1, restored.StepCount);
    }
}
