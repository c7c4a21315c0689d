using PredGen.Training.Lora;
using PredGen.Training.Model;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

public sealed class LoraTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("predgen-lora-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static Tensor Logits(LlamaForCausalLM model, Tensor ids)
    {
        using var _ = no_grad();
        return model.forward(new CausalLMInput(ids)).Logits!;
    }

    /// <summary>A few SGD steps on random data so that B is no longer zero.</summary>
    private static void Train(LlamaForCausalLM model, int steps = 5)
    {
        model.train();
        using var optimizer = optim.SGD(LoraAdapters.TrainableParameters(model), 0.5);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var ids = randint(0, 256, [2, 6]);
            optimizer.zero_grad();
            var logits = model.forward(new CausalLMInput(ids)).Logits!;
            nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), ids.roll(-1, 1).view(-1)).backward();
            optimizer.step();
        }
        model.eval();
    }

    [Fact]
    public void Lora_with_zero_initialised_b_gives_exactly_the_base_model_outputs()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var ids = randint(0, 256, [2, 8]);
        var before = Logits(model, ids);
        int attached = LoraAdapters.Apply(model, new LoraOptions(Rank: 4, Alpha: 8));
        Assert.Equal(2 * 4, attached); // q, k, v, o in 2 layers
        Assert.Equal(0f, TinyModels.MaxAbsDiff(before, Logits(model, ids)));
        var a = model.named_parameters().First(p => p.name == "model.layers.0.self_attn.q_proj.lora_A.weight").parameter;
        Assert.Equal([4L, 32L], a.shape);
        Assert.True(a.abs().sum().item<float>() > 0, "A is Kaiming-uniform, not zero");
        float bound = 1f / MathF.Sqrt(32); // kaiming_uniform(a = sqrt 5) on fan_in 32
        Assert.True(a.abs().max().item<float>() <= bound, $"A within +-{bound}");
    }

    [Fact]
    public void Only_adapter_parameters_receive_gradients()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        LoraAdapters.Apply(model, new LoraOptions(Rank: 2, TargetModules: ["q_proj", "v_proj", @"model\.layers\.1\.mlp\.down_proj"]));
        model.train();
        var ids = randint(0, 256, [2, 6]);
        var logits = model.forward(new CausalLMInput(ids)).Logits!;
        logits.square().mean().backward();
        var withGrad = model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => p.name).Order().ToList();
        var trainable = LoraAdapters.TrainableParameters(model);
        Assert.Equal(2 * (2 + 2) + 2, withGrad.Count); // A and B of q, v in two layers + layer 1's down_proj
        Assert.All(withGrad, n => Assert.Contains(".lora_", n, StringComparison.Ordinal));
        Assert.Equal(withGrad.Count, trainable.Count);
        Assert.Contains("model.layers.1.mlp.down_proj.lora_B.weight", withGrad);
        Assert.DoesNotContain("model.layers.0.mlp.down_proj.lora_B.weight", withGrad);
    }

    [Fact]
    public void Merged_and_unmerged_adapters_give_the_same_outputs()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var ids = randint(0, 256, [2, 8]);
        var baseLogits = Logits(model, ids);
        LoraAdapters.Apply(model, new LoraOptions(Rank: 4, Alpha: 16, Dropout: 0.1));
        Train(model);
        var unmerged = Logits(model, ids);
        Assert.True(TinyModels.MaxAbsDiff(baseLogits, unmerged) > 1e-3f, "training moved the adapted model");
        LoraAdapters.Merge(model);
        Assert.False(LoraAdapters.HasAdapters(model));
        Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("lora_", StringComparison.Ordinal));
        float diff = TinyModels.MaxAbsDiff(unmerged, Logits(model, ids));
        Assert.True(diff < 1e-5f, $"max |merged - unmerged| = {diff}");
    }

    [Fact]
    public void Adapters_save_alone_and_load_onto_a_fresh_base_model()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(seed: 9);
        string baseDir = Path.Combine(root, "base"), adapterDir = Path.Combine(root, "adapter");
        Checkpoints.ModelDirectory.Save(model, new Tokenization.ByteTokenizer(), baseDir);
        LoraAdapters.Apply(model, new LoraOptions(Rank: 4));
        Train(model);
        var ids = randint(0, 256, [1, 7]);
        var adapted = Logits(model, ids);
        LoraAdapters.SaveAdapters(model, adapterDir);
        Assert.True(File.Exists(Path.Combine(adapterDir, LoraAdapters.ConfigFile)));
        long adapterBytes = new FileInfo(Path.Combine(adapterDir, LoraAdapters.WeightsFile)).Length;
        long adapterParameters = LoraAdapters.TrainableParameters(model).Sum(p => p.numel());
        Assert.InRange(adapterBytes, adapterParameters * 4, adapterParameters * 4 + 8192); // adapters only, not the base

        // Tests run in parallel and share libtorch's global generator, so the fresh base comes from the checkpoint, not a seed.
        using var fresh = Checkpoints.ModelDirectory.LoadModel(baseDir, new Runtime.TorchOptions { Device = "cpu" });
        LoraAdapters.LoadAdapters(fresh, adapterDir);
        Assert.Equal(0f, TinyModels.MaxAbsDiff(adapted, Logits(fresh, ids)));
    }

    [Fact]
    public void Saving_a_full_model_with_unmerged_adapters_is_refused()
    {
        using var model = TinyModels.Create();
        LoraAdapters.Apply(model, new LoraOptions());
        var e = Assert.Throws<InvalidOperationException>(() =>
            Checkpoints.ModelDirectory.Save(model, new Tokenization.ByteTokenizer(), root));
        Assert.Contains("Merge", e.Message, StringComparison.Ordinal);
    }
}
