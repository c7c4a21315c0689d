using PredGen.Shared.Data;
using PredGen.Training.Generation;
using PredGen.Training.Model;
using PredGen.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>The loss of one micro-batch: what backward runs on, and its parts for metrics.jsonl.</summary>
internal sealed record StepLoss(Tensor Total, double Loss, double? WriterLoss, double? DirectorLoss);

/// <summary>
/// One backbone with what a method adds: the Predictor's head or PredGen's task adapter, the answer grammar (label
/// trie or number format) and the prompt. Training losses and inference live here, so the trainer and the served
/// model run exactly the same computation.
/// </summary>
internal sealed class MethodNetwork : IDisposable
{
    private const long IgnoreIndex = -100;
    private readonly LabelTrie? trie;
    private readonly NumberGrammar? grammar;
    private readonly int[][] labelTokens = [];
    private readonly Dictionary<string, int> labelIndex = new(StringComparer.Ordinal);

    public MethodNetwork(LlamaForCausalLM backbone, ITextTokenizer tokenizer, ModelCard card)
    {
        Backbone = backbone;
        Tokenizer = tokenizer;
        Card = card;
        if (card.TaskKind == TaskKind.Classification)
        {
            var labels = card.Labels ?? throw new InvalidDataException("a classification model card needs labels");
            labelTokens = [.. labels.Select(l => tokenizer.Encode(l).ToArray())];
            for (int i = 0; i < labels.Count; i++) labelIndex[labels[i]] = i;
            if (card.Method != MethodKind.Predictor) trie = new LabelTrie(labelTokens, tokenizer.EosId);
        }
        else if (card.Method != MethodKind.Predictor)
        {
            grammar = new NumberGrammar(card.NumberFormat ?? throw new InvalidDataException("a regression model card needs a number format"), tokenizer);
        }
        int outputs = card.TaskKind == TaskKind.Classification ? card.Labels!.Count : 1;
        Head = card.Method switch
        {
            MethodKind.Predictor => new PredictorHead(card.HiddenSize, outputs),
            MethodKind.PredGen => new TaskAdapter(card.AnswerPositions, card.HiddenSize, card.AdapterHidden, outputs),
            _ => null,
        };
        Head?.to(backbone.DType).to(backbone.Device);
    }

    public LlamaForCausalLM Backbone { get; }

    public ITextTokenizer Tokenizer { get; }

    public ModelCard Card { get; }

    /// <summary>PredictorHead or TaskAdapter; null for the Generator.</summary>
    public nn.Module<Tensor, Tensor>? Head { get; }

    public IAnswerGrammar? Grammar => (IAnswerGrammar?)trie ?? grammar;

    public bool IsClassification => Card.TaskKind == TaskKind.Classification;

    /// <summary>Answer positions the adapter reads and token-level representations span: the longest answer.</summary>
    public static int AnswerPositions(TaskKind kind, IReadOnlyList<string>? labels, NumberFormat? format, ITextTokenizer tokenizer) =>
        kind == TaskKind.Classification ? labels!.Max(l => tokenizer.Encode(l).Count) : format!.Length;

    public int[] Prompt(TextInput input) => PromptEncoder.Encode(Card.Prompt, Tokenizer, input, Card.MaxPromptTokens);

    public int[] Answer(PreparedRow row) => IsClassification
        ? labelTokens[LabelIndex(row.Label!)]
        : grammar!.Encode(row.Value!.Value);

    public int LabelIndex(string label) => labelIndex.TryGetValue(label, out int i)
        ? i : throw new InvalidDataException($"label '{label}' is not among the training labels [{string.Join(", ", labelIndex.Keys)}]");

    /// <summary>The head's target: class index, or the value normalised with the training mean and std.</summary>
    public Tensor Targets(IReadOnlyList<PreparedRow> rows) => IsClassification
        ? tensor(rows.Select(r => (long)LabelIndex(r.Label!)).ToArray(), device: Backbone.Device)
        : tensor(rows.Select(r => (float)((r.Value!.Value - Card.TargetMean) / Card.TargetStd)).ToArray(), device: Backbone.Device);

    // ---- training ---------------------------------------------------------------------------------------------------

    public StepLoss PredictorLoss(IReadOnlyList<int[]> prompts, Tensor targets)
    {
        var (ids, mask) = GreedyDecoder.LeftPad(prompts, Tokenizer.PadId, Backbone.Device);
        var hidden = Backbone.forward(new CausalLMInput(ids, mask, ComputeLogits: false)).HiddenStates;
        var output = Head!.forward(PredictorHead.Pool(hidden, mask, Card.Pooling)).to(ScalarType.Float32);
        var loss = DirectorLoss(output, targets);
        double value = loss.item<float>();
        return new StepLoss(loss, value, null, value);
    }

    public Tensor DirectorLoss(Tensor output, Tensor targets) => IsClassification
        ? nn.functional.cross_entropy(output, targets)
        : nn.functional.mse_loss(output.squeeze(-1), targets);

    /// <summary>
    /// One teacher-forced (or scheduled-sampling) pass over prompt + answer. The prompt is computed once with gradients
    /// into a KV cache. Where <paramref name="sampleMask"/>[b, t] is set, the token fed at answer position t is the
    /// model's own argmax there, decoded greedily without gradients on a fork of that cache (one cached pass: the
    /// prompt is not recomputed); elsewhere it is the ground truth. Targets are always the ground truth answer + EOS.
    /// </summary>
    public GenerationPass GenerationLoss(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> answers, bool[,]? sampleMask, bool trainOnPrompt, bool digitWeights)
    {
        int rows = prompts.Count;
        int width = answers.Max(a => a.Length);
        var device = Backbone.Device;
        var (ids, mask) = GreedyDecoder.LeftPad(prompts, Tokenizer.PadId, device);
        using var cache = Backbone.NewCache();
        var promptStates = Backbone.forward(new CausalLMInput(ids, mask, cache, ComputeLogits: false)).HiddenStates;
        var last = promptStates.select(1, -1);

        var fed = new long[rows * width];
        var fedMask = new long[rows * width];
        for (int b = 0; b < rows; b++)
            for (int t = 0; t < width; t++)
            {
                bool inside = t < answers[b].Length;
                fed[b * width + t] = inside ? answers[b][t] : Tokenizer.PadId;
                fedMask[b * width + t] = inside ? 1 : 0;
            }
        if (sampleMask != null && AnySampled(sampleMask, answers)) SampleOwnTokens(cache, last, answers, sampleMask, fed, fedMask, width);

        var fedIds = tensor(fed, device: device).view(rows, width);
        var fedAttention = tensor(fedMask, device: device).view(rows, width);
        var answerStates = Backbone.forward(new CausalLMInput(fedIds, fedAttention, cache, ComputeLogits: false)).HiddenStates;
        // states[:, j] is the position that predicts answer token j (j = 0: the prompt's last position), j = m: EOS.
        var states = cat([last.unsqueeze(1), answerStates], 1);
        var logits = Backbone.Logits(states);
        long vocab = logits.shape[2];

        var targets = new long[rows * (width + 1)];
        var weights = new float[rows * (width + 1)];
        for (int b = 0; b < rows; b++)
        {
            int m = answers[b].Length;
            for (int j = 0; j <= width; j++)
            {
                int k = b * (width + 1) + j;
                if (j < m)
                {
                    targets[k] = answers[b][j];
                    // Earlier digits carry more of the value: linearly decreasing weights with mean 1 (as the reference).
                    weights[k] = digitWeights && !IsClassification ? 2f * (m - j) / (m + 1) : 1f;
                }
                else if (j == m)
                {
                    targets[k] = Tokenizer.EosId;
                    weights[k] = 1f;
                }
                else
                {
                    targets[k] = IgnoreIndex;
                }
            }
        }
        var targetTensor = tensor(targets, device: device);
        var weightTensor = tensor(weights, device: device);
        var tokenLoss = nn.functional.cross_entropy(logits.reshape(-1, vocab), targetTensor, ignore_index: IgnoreIndex, reduction: nn.Reduction.None);
        var numerator = (tokenLoss * weightTensor).sum();
        var denominator = weightTensor.sum();
        if (trainOnPrompt && ids.shape[1] > 1)
        {
            // The reference code also trains on the prompt: next-token loss wherever both tokens are real.
            var promptLogits = Backbone.Logits(promptStates.narrow(1, 0, ids.shape[1] - 1));
            var next = ids.narrow(1, 1, ids.shape[1] - 1);
            var valid = mask.narrow(1, 0, ids.shape[1] - 1).mul(mask.narrow(1, 1, ids.shape[1] - 1)).to(ScalarType.Float32);
            var promptLoss = nn.functional.cross_entropy(promptLogits.reshape(-1, vocab), next.reshape(-1), reduction: nn.Reduction.None);
            numerator = numerator + (promptLoss * valid.reshape(-1)).sum();
            denominator = denominator + valid.sum();
        }
        var writerLoss = numerator / denominator;

        var fedTokens = new int[rows][];
        for (int b = 0; b < rows; b++) fedTokens[b] = [.. Enumerable.Range(0, answers[b].Length).Select(t => (int)fed[b * width + t])];
        var answerMask = tensor(fedMask, device: device).view(rows, width, 1).to(states.dtype);
        var z = PadPositions(states.narrow(1, 0, width) * answerMask, Card.AnswerPositions);
        return new GenerationPass(writerLoss, z, fedTokens);
    }

    private static bool AnySampled(bool[,] sampleMask, IReadOnlyList<int[]> answers)
    {
        for (int b = 0; b < answers.Count; b++)
            for (int t = 0; t < answers[b].Length && t < sampleMask.GetLength(1); t++)
                if (sampleMask[b, t]) return true;
        return false;
    }

    private void SampleOwnTokens(KVCache cache, Tensor last, IReadOnlyList<int[]> answers, bool[,] sampleMask, long[] fed, long[] fedMask, int width)
    {
        int rows = answers.Count;
        var device = Backbone.Device;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var fork = cache.Fork();
        var current = last.detach();
        for (int t = 0; t < width; t++)
        {
            long[] own = Backbone.Logits(current).argmax(-1).cpu().data<long>().ToArray();
            for (int b = 0; b < rows; b++)
                if (t < answers[b].Length && sampleMask[b, t]) fed[b * width + t] = own[b];
            if (t == width - 1) break;
            var feed = tensor(Enumerable.Range(0, rows).Select(b => fed[b * width + t]).ToArray(), device: device).view(rows, 1);
            var feedMask = tensor(Enumerable.Range(0, rows).Select(b => fedMask[b * width + t]).ToArray(), device: device).view(rows, 1);
            current = Backbone.forward(new CausalLMInput(feed, feedMask, fork, ComputeLogits: false)).HiddenStates.select(1, -1);
        }
    }

    /// <summary>[B, m, H] → [B, positions, H] with zeros appended (the adapter's fixed input).</summary>
    public static Tensor PadPositions(Tensor states, int positions)
    {
        long m = states.shape[1];
        if (m == positions) return states;
        if (m > positions) return states.narrow(1, 0, positions);
        var pad = zeros(states.shape[0], positions - m, states.shape[2], states.dtype, states.device);
        return cat([states, pad], 1);
    }

    // ---- inference ----------------------------------------------------------------------------------------------------

    /// <summary>Predictor: head outputs [B, K | 1] (fp32) and the pooled Z_p [B, H].</summary>
    public (Tensor Output, Tensor Pooled) PredictorForward(IReadOnlyList<int[]> prompts)
    {
        var (ids, mask) = GreedyDecoder.LeftPad(prompts, Tokenizer.PadId, Backbone.Device);
        var hidden = Backbone.forward(new CausalLMInput(ids, mask, ComputeLogits: false)).HiddenStates;
        var pooled = PredictorHead.Pool(hidden, mask, Card.Pooling);
        return (Head!.forward(pooled).to(ScalarType.Float32), pooled);
    }

    /// <summary>Greedy decoding under the answer grammar: tokens per row and Z [B, positions, H] (zeros past the end).</summary>
    public (int[][] Tokens, Tensor States) Decode(IReadOnlyList<int[]> prompts)
    {
        var g = Grammar!;
        var result = GreedyDecoder.Generate(Backbone, prompts, g.MaxLength + 1, Tokenizer.PadId,
            new HashSet<int> { Tokenizer.EosId }, new GrammarConstraint(g), returnHiddenStates: true);
        return ([.. result.Tokens], PadPositions(result.HiddenStates!, Card.AnswerPositions));
    }

    /// <summary>
    /// Exact label scoring: log P(label tokens + EOS | prompt) for every label, in one batched forward. The prompts are
    /// computed once into a KV cache, which is then expanded to B·K rows that continue with each label's tokens.
    /// Returns the [B, K] sequence log-probabilities and, per (row, label), the answer states [B·K, positions, H].
    /// </summary>
    public (Tensor LogProbs, Tensor States) ScoreLabels(IReadOnlyList<int[]> prompts)
    {
        int rows = prompts.Count, k = labelTokens.Length;
        int width = labelTokens.Max(l => l.Length);
        var device = Backbone.Device;
        var (ids, mask) = GreedyDecoder.LeftPad(prompts, Tokenizer.PadId, device);
        using var cache = Backbone.NewCache();
        var last = Backbone.forward(new CausalLMInput(ids, mask, cache, ComputeLogits: false)).HiddenStates.select(1, -1);
        var first = nn.functional.log_softmax(Backbone.Logits(last), -1);                      // [B, V]
        var firstIds = tensor(labelTokens.Select(l => (long)l[0]).ToArray(), device: device);  // [K]
        var firstScore = first.index_select(1, firstIds);                                       // [B, K]

        var continuation = new long[k * width];
        var continuationMask = new long[k * width];
        var nextTargets = new long[k * width];
        var valid = new float[k * width];
        for (int j = 0; j < k; j++)
        {
            var l = labelTokens[j];
            for (int t = 0; t < width; t++)
            {
                bool inside = t < l.Length;
                continuation[j * width + t] = inside ? l[t] : Tokenizer.PadId;
                continuationMask[j * width + t] = inside ? 1 : 0;
                nextTargets[j * width + t] = t < l.Length - 1 ? l[t + 1] : Tokenizer.EosId;
                valid[j * width + t] = inside ? 1 : 0;
            }
        }
        var rowIndex = arange(rows, dtype: ScalarType.Int64, device: device).repeat_interleave(k);
        using var expanded = cache.Select(rowIndex);
        var contIds = tensor(continuation, device: device).view(k, width).repeat(rows, 1);
        var contMask = tensor(continuationMask, device: device).view(k, width).repeat(rows, 1);
        var hidden = Backbone.forward(new CausalLMInput(contIds, contMask, expanded, ComputeLogits: false)).HiddenStates; // [B·K, W, H]
        var logProbs = nn.functional.log_softmax(Backbone.Logits(hidden), -1);
        var picked = logProbs.gather(2, tensor(nextTargets, device: device).view(k, width).repeat(rows, 1).unsqueeze(-1)).squeeze(-1);
        var validTensor = tensor(valid, device: device).view(k, width).repeat(rows, 1);
        var rest = (picked * validTensor).sum(1).view(rows, k);
        var total = firstScore + rest;

        // Z for label j: position predicting token 0 is the prompt's last; token t ≥ 1 is predicted at continuation t−1.
        var lastRepeated = last.repeat_interleave(k, 0).unsqueeze(1);
        var states = cat([lastRepeated, hidden.narrow(1, 0, width - 1)], 1) * validTensor.unsqueeze(-1).to(hidden.dtype);
        return (total, PadPositions(states, Card.AnswerPositions));
    }

    public void Dispose()
    {
        Head?.Dispose();
        Backbone.Dispose();
    }

    /// <summary>The grammar as the decoder's constraint (the same set for every row).</summary>
    private sealed class GrammarConstraint(IAnswerGrammar grammar) : IDecodingConstraint
    {
        private readonly Dictionary<string, IReadOnlySet<int>> memo = new(StringComparer.Ordinal);

        public IReadOnlySet<int>? AllowedNext(int row, IReadOnlyList<int> generatedSoFar)
        {
            string key = string.Join(',', generatedSoFar);
            if (!memo.TryGetValue(key, out var set)) memo[key] = set = grammar.AllowedNext(generatedSoFar).ToHashSet();
            return set;
        }
    }
}

/// <summary>L_W of a generation pass, the answer positions' states Z (padded) and the tokens actually fed per row.</summary>
internal sealed record GenerationPass(Tensor WriterLoss, Tensor AnswerStates, int[][] FedTokens);
