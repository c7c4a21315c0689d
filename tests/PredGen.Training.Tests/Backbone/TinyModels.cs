using PredGen.Training.Model;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Backbone;

internal static class TinyModels
{
    public static LlamaForCausalLM Create(int seed = 7, LlamaConfig? config = null)
    {
        manual_seed(seed);
        var model = new LlamaForCausalLM(config ?? LlamaConfig.Tiny(ByteTokenizer.Size));
        model.eval();
        return model;
    }

    public static Tensor Ids(params long[][] rows) =>
        tensor(rows.SelectMany(r => r).ToArray()).view(rows.Length, rows[0].Length);

    public static float MaxAbsDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
