using PredGen.Training.Model;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// What the writer is asked to write for a batch: the gold answers (then EOS), and for PredGen the tokens actually fed
/// (<see cref="Fed"/>, the scheduled-sampling mix; null when the gold answer was fed).
/// </summary>
internal sealed record WriterTargets(IReadOnlyList<int[]> Answers, int EosId, bool IsClassification, bool DigitWeights, int[][]? Fed = null)
{
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Target and weight per (row, position j in 0..width): position j is the state that predicts answer token j (the
    /// prompt's last state for j = 0). The gold token, then EOS; ignored past EOS.
    /// <para>
    /// Numbers: earlier digits carry more of the value, so with <see cref="DigitWeights"/> token j of m weighs
    /// 2(m − j)/(m + 1) (linearly decreasing, mean 1, as the reference code).
    /// </para>
    /// <para>
    /// Labels: a label is one choice from a closed set, not a sequence whose later tokens stand on their own as a
    /// number's digits do (a digit after a wrong one still has its place value). When scheduled sampling fed the
    /// model's own label token where it differs from the gold one, the gold label's later tokens and EOS after that
    /// prefix spell no label at all ("Dem" + "ublican"): their targets are dropped. The token where the own answer left
    /// the gold one keeps its gold target, so the model still learns the choice. Without this, late in training (p near
    /// 1) L_W rose to 2-3 nats on those impossible continuations and dominated the combined loss.
    /// </para>
    /// </summary>
    public (long[] Targets, float[] Weights) Build(int width)
    {
        int rows = Answers.Count;
        var targets = new long[rows * (width + 1)];
        var weights = new float[rows * (width + 1)];
        for (int b = 0; b < rows; b++)
        {
            int m = Answers[b].Length;
            int coherent = IsClassification && Fed != null ? FirstDivergence(Fed[b], Answers[b]) : m;
            for (int j = 0; j <= width; j++)
            {
                int k = b * (width + 1) + j;
                if (j > coherent || j > m)
                {
                    targets[k] = IgnoreIndex;
                }
                else if (j < m)
                {
                    targets[k] = Answers[b][j];
                    weights[k] = DigitWeights && !IsClassification ? DigitWeight(j, m) : 1f;
                }
                else
                {
                    targets[k] = EosId;
                    weights[k] = 1f;
                }
            }
        }
        return (targets, weights);
    }

    public static float DigitWeight(int position, int length) => 2f * (length - position) / (length + 1);

    /// <summary>The first position where the fed tokens differ from the gold ones; the gold length when they agree.</summary>
    public static int FirstDivergence(int[] fed, int[] gold)
    {
        ArgumentNullException.ThrowIfNull(fed);
        ArgumentNullException.ThrowIfNull(gold);
        for (int t = 0; t < gold.Length; t++)
            if (t >= fed.Length || fed[t] != gold[t]) return t;
        return gold.Length;
    }
}

/// <summary>
/// L_W, the writer's loss of Generator and PredGen: weighted cross-entropy of <see cref="WriterTargets"/> read from the
/// states that predict each token: the prompt's last for token 0, the state after fed token j−1 for token j (whatever
/// was fed). With trainOnPrompt, the reference code's next-token loss on the prompt joins the same mean.
/// </summary>
internal static class WriterLoss
{
    /// <param name="ids">[B, P] left-padded prompt ids and <paramref name="mask"/> their mask.</param>
    /// <param name="promptStates">[B, P, H] the prompt's final hidden states.</param>
    /// <param name="answerStates">[B, W, H] the states after each fed answer token.</param>
    public static Tensor Compute(LlamaForCausalLM backbone, Tensor ids, Tensor mask, Tensor promptStates, Tensor answerStates, WriterTargets targets,
        bool trainOnPrompt)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(targets);
        int width = (int)answerStates.shape[1];
        var device = backbone.Device;
        var states = cat([promptStates.select(1, -1).unsqueeze(1), answerStates], 1);
        var logits = backbone.Logits(states);
        long vocab = logits.shape[2];

        var (targetIds, weights) = targets.Build(width);
        var targetTensor = tensor(targetIds, device: device);
        var weightTensor = tensor(weights, device: device);
        var tokenLoss = nn.functional.cross_entropy(logits.reshape(-1, vocab), targetTensor, ignore_index: WriterTargets.IgnoreIndex, reduction: nn.Reduction.None);
        var numerator = (tokenLoss * weightTensor).sum();
        var denominator = weightTensor.sum();
        if (trainOnPrompt && ids.shape[1] > 1)
        {
            // The reference code also trains on the prompt: next-token loss wherever both tokens are real.
            var promptLogits = backbone.Logits(promptStates.narrow(1, 0, ids.shape[1] - 1));
            var next = ids.narrow(1, 1, ids.shape[1] - 1);
            var valid = mask.narrow(1, 0, ids.shape[1] - 1).mul(mask.narrow(1, 1, ids.shape[1] - 1)).to(ScalarType.Float32);
            var promptLoss = nn.functional.cross_entropy(promptLogits.reshape(-1, vocab), next.reshape(-1), reduction: nn.Reduction.None);
            numerator = numerator + (promptLoss * valid.reshape(-1)).sum();
            denominator = denominator + valid.sum();
        }
        return numerator / denominator;
    }
}
