using PredGen.Training.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

public sealed class MemoryTests
{
    [Fact]
    public void Live_tensor_count_stays_flat_over_200_training_steps()
    {
        using var model = TinyModels.Create();
        model.train();
        using var optimizer = optim.AdamW(model.parameters(), 1e-3);
        var liveAt = new Dictionary<int, long>();
        for (int step = 1; step <= 200; step++)
        {
            using (var scope = NewDisposeScope())
            {
                var ids = randint(0, 256, [4, 12]);
                var mask = ones(4, 12, ScalarType.Int64);
                mask[0, 0] = 0; // a padded row exercises the explicit mask path too
                optimizer.zero_grad();
                var logits = model.forward(new CausalLMInput(ids, mask)).Logits!;
                var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), ids.roll(-1, 1).view(-1));
                loss.backward();
                optimizer.step();
            }
            if (step == 1) DisposeScopeManager.Statistics.Reset(); // after the optimizer has created its state
            if (step is 10 or 100 or 200) liveAt[step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        Assert.Equal(liveAt[10], liveAt[100]);
        Assert.Equal(liveAt[10], liveAt[200]);
    }

    [Fact]
    public void Decoding_with_the_cache_leaves_no_tensors_behind()
    {
        using var model = TinyModels.Create();
        List<IReadOnlyList<int>> prompts = [(int[])[257, 1, 2], (int[])[257, 3]];
        Generation.GreedyDecoder.Generate(model, prompts, 5, 256, new HashSet<int>());
        DisposeScopeManager.Statistics.Reset();
        for (int i = 0; i < 3; i++)
            Generation.GreedyDecoder.Generate(model, prompts, 8, 256, new HashSet<int>());
        Assert.Equal(0, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
