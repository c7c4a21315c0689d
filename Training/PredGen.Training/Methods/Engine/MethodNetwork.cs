using PredGen.Shared.Data;
using PredGen.Training.Generation;
using PredGen.Training.Model;
using PredGen.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Methods;

/// <summary>
/// One backbone with what a method adds: the Predictor's head or PredGen's task adapter, the answer grammar (label
/// trie or number format) and the prompt. The forward passes live here, for training and inference alike, so the
/// trainer and the served model run exactly the same computation; each method's loss over them is in Objectives/.
/// </summary>
internal sealed class MethodNetwork : IDisposable
{
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
            MethodKind.Predictor => new PredictorHead(card.HiddenSize, outputs, card.PredictorHead, card.AdapterHidden),
            MethodKind.PredGen => new TaskAdapter(card.AdapterPositions, card.HiddenSize, card.AdapterHidden, outputs),
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

    // ---- training passes ------------------------------------------------------------------------------------------

    /// <summary>L_D, the task loss of the Predictor's head and PredGen's adapter: cross-entropy over the classes, or MSE
    /// of the normalised value.</summary>
    public Tensor DirectorLoss(Tensor output, Tensor targets) => IsClassification
        ? nn.functional.cross_entropy(output, targets)
        : nn.functional.mse_loss(output.squeeze(-1), targets);

    /// <summary>
    /// The Generator's teacher-forced pass: the prompt into a KV cache, then the gold answer on it; returns the L_W of
    /// the answer and EOS (and of the prompt when <paramref name="trainOnPrompt"/>).
    /// </summary>
    public Tensor TeacherForcedWriterLoss(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> answers, bool trainOnPrompt, bool digitWeights)
    {
        var (ids, mask) = GreedyDecoder.LeftPad(prompts, Tokenizer.PadId, Backbone.Device);
        using var cache = Backbone.NewCache();
        var promptStates = Backbone.forward(new CausalLMInput(ids, mask, cache, ComputeLogits: false)).HiddenStates;
        int width = answers.Max(a => a.Length);
        var (fedIds, fedMask) = RightPad(answers, width);
        var answerStates = Backbone.forward(new CausalLMInput(fedIds, fedMask, cache, ComputeLogits: false)).HiddenStates;
        return WriterLoss(ids, mask, promptStates, answerStates, answers, trainOnPrompt, digitWeights);
    }

    /// <summary>
    /// PredGen's forward for one micro-batch: L_W with scheduled sampling, and the task adapter's input Z built as
    /// inference builds it.
    /// <para>
    /// The prompt is computed once, with gradients, into a KV cache. The model's own answer is then decoded greedily
    /// under the answer grammar on a fork of that cache (<see cref="GreedyDecoder.Continue"/>, no gradients): the very
    /// code and grammar <see cref="Decode"/> uses. One batched forward on the prompt's cache then feeds, per row, the
    /// scheduled-sampling mix (own token where <paramref name="sampleMask"/>[b, t] is set, the gold token elsewhere;
    /// the targets stay gold) and, for the rows whose mix is not their own answer already, the own answer as extra
    /// rows (the cache's rows are selected, not recomputed). Z is the hidden states AT the own answer's tokens, the
    /// last one included (the paper's Z[n:n+m]), preceded by the prompt's last state, which wrote the first of them (a
    /// Hugging Face generate() reports it as the first generated token's hidden state, so the reference code's "hidden
    /// states of the generated tokens" hold it; <see cref="AdapterInput"/>), so its
    /// gradient reaches the backbone through that forward and the prompt's cache. Before this, the adapter read the
    /// states of the mixed, mostly gold, tokens: it learnt to read the gold answer back and carried no signal at
    /// inference (issue 12).
    /// </para>
    /// <para>
    /// The whole pass runs in eval mode (no LoRA dropout): inference decodes and reads Z without dropout, and dropout in
    /// the prompt's cache would change both the tokens drawn and Z. With p = 1, or once the model writes the gold answer,
    /// every row's mix is its own answer and the one forward serves both losses.
    /// </para>
    /// </summary>
    public PredGenPass PredGenForward(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> answers, bool[,]? sampleMask, bool trainOnPrompt, bool digitWeights)
    {
        bool wasTraining = Backbone.training;
        Backbone.eval();
        try
        {
            int rows = prompts.Count;
            var device = Backbone.Device;
            var (ids, mask) = GreedyDecoder.LeftPad(prompts, Tokenizer.PadId, device);
            using var cache = Backbone.NewCache();
            var promptStates = Backbone.forward(new CausalLMInput(ids, mask, cache, ComputeLogits: false)).HiddenStates;
            var own = OwnAnswers(cache, promptStates.select(1, -1));

            var (fed, extra) = OwnTokenFeeding.Mix(answers, own, sampleMask);
            var continuations = fed.Concat(extra.Select(b => own[b])).ToList();
            int width = Math.Max(1, continuations.Max(c => c.Length));
            var (contIds, contMask) = RightPad(continuations, width);
            using var extended = extra.Count == 0 ? null
                : cache.Select(tensor(Enumerable.Range(0, rows).Concat(extra).Select(i => (long)i).ToArray(), device: device));
            var hidden = Backbone.forward(new CausalLMInput(contIds, contMask, extended ?? cache, ComputeLogits: false)).HiddenStates;

            int fedWidth = answers.Max(a => a.Length);
            var writerLoss = WriterLoss(ids, mask, promptStates, hidden.narrow(0, 0, rows).narrow(1, 0, fedWidth), answers, trainOnPrompt, digitWeights, fed);

            // Row b reads its own answer's states: from the mix's row when they are the same tokens, else its extra row.
            var source = Enumerable.Range(0, rows).Select(b => (long)b).ToArray();
            for (int i = 0; i < extra.Count; i++) source[extra[i]] = rows + i;
            var ownStates = hidden.index_select(0, tensor(source, device: device));
            var z = AdapterInput(promptStates.select(1, -1), MaskedAnswerStates(ownStates, own));
            return new PredGenPass(writerLoss, z, own, fed, extra.Count);
        }
        finally
        {
            if (wasTraining) Backbone.train();
        }
    }

    /// <summary>The model's greedy answers under the grammar, decoded on a fork of <paramref name="promptCache"/> from the
    /// prompts' last states: the same call <see cref="Decode"/> makes after its prompt forward.</summary>
    private int[][] OwnAnswers(KVCache promptCache, Tensor lastPromptStates)
    {
        using var fork = promptCache.Fork();
        var g = Grammar!;
        var result = GreedyDecoder.Continue(Backbone, fork, lastPromptStates, g.MaxLength + 1, Tokenizer.PadId,
            new HashSet<int> { Tokenizer.EosId }, new GrammarConstraint(g));
        return [.. result.Tokens];
    }

    /// <summary>States [B, W, H] at answer tokens → the adapter's input [B, positions, H]: zeros past each row's answer.</summary>
    private Tensor MaskedAnswerStates(Tensor states, int[][] answerTokens)
    {
        int rows = answerTokens.Length;
        int width = (int)Math.Min(states.shape[1], Card.AnswerPositions);
        var keep = new float[rows * width];
        for (int b = 0; b < rows; b++)
            for (int t = 0; t < width; t++)
                keep[b * width + t] = t < answerTokens[b].Length ? 1 : 0;
        var keepTensor = tensor(keep, device: states.device).view(rows, width, 1).to(states.dtype);
        return PadPositions(states.narrow(1, 0, width) * keepTensor, Card.AnswerPositions);
    }

    /// <summary>The task adapter's input [B, <see cref="ModelCard.AdapterPositions"/>, H]: the prompt's last state
    /// <paramref name="promptLast"/> [B, H] first when the card says so, then the answer states [B, AnswerPositions, H].
    /// Training, inference and label scoring all build it here.</summary>
    public Tensor AdapterInput(Tensor promptLast, Tensor answerStates) => Card.AdapterReadsPromptState
        ? cat([promptLast.unsqueeze(1).to(answerStates.dtype), answerStates], 1)
        : answerStates;

    /// <summary>Token rows right-padded to <paramref name="width"/>: ids and mask [rows, width] (1 = token). Pads follow
    /// the real tokens, so causal attention never lets a real token see one.</summary>
    private (Tensor Ids, Tensor Mask) RightPad(IReadOnlyList<int[]> tokens, int width)
    {
        int rows = tokens.Count;
        var ids = new long[rows * width];
        var mask = new long[rows * width];
        for (int b = 0; b < rows; b++)
            for (int t = 0; t < width; t++)
            {
                bool inside = t < tokens[b].Length;
                ids[b * width + t] = inside ? tokens[b][t] : Tokenizer.PadId;
                mask[b * width + t] = inside ? 1 : 0;
            }
        var device = Backbone.Device;
        return (tensor(ids, device: device).view(rows, width), tensor(mask, device: device).view(rows, width));
    }

    private Tensor WriterLoss(Tensor ids, Tensor mask, Tensor promptStates, Tensor answerStates, IReadOnlyList<int[]> answers, bool trainOnPrompt, bool digitWeights,
        int[][]? fed = null) =>
        Methods.WriterLoss.Compute(Backbone, ids, mask, promptStates, answerStates,
            new WriterTargets(answers, Tokenizer.EosId, IsClassification, digitWeights, fed), trainOnPrompt);

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

    /// <summary>Greedy decoding under the answer grammar, in the caller's mode (eval at inference): tokens per row and Z
    /// [B, adapter positions, H]: the prompt's last state when the card says so, then the states at the generated tokens
    /// (zeros past the end). PredGen's training builds its adapter
    /// input by the same decoder (<see cref="PredGenForward"/>).</summary>
    public (int[][] Tokens, Tensor States) Decode(IReadOnlyList<int[]> prompts)
    {
        var g = Grammar!;
        var result = GreedyDecoder.Generate(Backbone, prompts, g.MaxLength + 1, Tokenizer.PadId,
            new HashSet<int> { Tokenizer.EosId }, new GrammarConstraint(g), returnHiddenStates: true);
        return ([.. result.Tokens], AdapterInput(result.PromptLastHidden!, PadPositions(result.HiddenStates!, Card.AnswerPositions)));
    }

    /// <summary>
    /// Exact label scoring: log P(label tokens + EOS | prompt) for every label, in one batched forward. The prompts are
    /// computed once into a KV cache; every label's tokens then continue it side by side in one packed row per prompt
    /// (<see cref="CausalLMInput.Segments"/>: each label attends to the prompt and to its own earlier tokens, at the
    /// positions it would have alone), so the prompt's cache is neither copied K times nor padded to the longest label
    /// (issue 15: copying it and padding byte labels cost 1.52x Predictor's time at 4 labels).
    /// Returns the [B, K] sequence log-probabilities; per (row, label), the states at that label's tokens
    /// [B·K, positions, H] (what the adapter reads when the model writes that label); and per row the label greedy
    /// decoding under the label trie writes, read off the same forward (every trie prefix is some label's prefix, so its
    /// next-token distribution is already computed). PredGen's adapter reads the greedy label's states, as in training.
    /// </summary>
    public (Tensor LogProbs, Tensor States, int[] GreedyLabels) ScoreLabels(IReadOnlyList<int[]> prompts)
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

        // The labels packed one after another: token p belongs to label segment[p]; it predicts next[p] (the label's
        // next token, or EOS after its last).
        var (starts, packed, segment, next) = PackedLabels();
        int length = packed.Length;
        var packedIds = tensor(packed.Select(x => (long)x).ToArray(), device: device).view(1, length).expand(rows, length);
        var hidden = Backbone.forward(new CausalLMInput(packedIds, null, cache, ComputeLogits: false, Segments: segment)).HiddenStates; // [B, L, H]
        var logProbs = nn.functional.log_softmax(Backbone.Logits(hidden), -1);                                                      // [B, L, V]
        var picked = logProbs.gather(2, tensor(next.Select(x => (long)x).ToArray(), device: device).view(1, length, 1).expand(rows, length, 1)).squeeze(-1);
        var oneHot = new float[length * k];
        for (int p = 0; p < length; p++) oneHot[p * k + segment[p]] = 1;
        var ofLabel = tensor(oneHot, device: device).view(length, k).to(picked.dtype);          // [L, K]: token p sums into its label
        var total = firstScore + picked.matmul(ofLabel);                                        // [B, K]

        // Z for label j: the states at its tokens (position t holds label token t), zeros past its end.
        var gatherAt = new long[k * width];
        var valid = new float[k * width];
        for (int j = 0; j < k; j++)
            for (int t = 0; t < width; t++)
            {
                gatherAt[j * width + t] = starts[j] + Math.Min(t, labelTokens[j].Length - 1);
                valid[j * width + t] = t < labelTokens[j].Length ? 1 : 0;
            }
        var states = hidden.index_select(1, tensor(gatherAt, device: device)).view(rows * k, width, -1)
            * tensor(valid, device: device).view(1, k * width).expand(rows, k * width).reshape(rows * k, width, 1).to(hidden.dtype);
        var adapterInput = AdapterInput(last.repeat_interleave(k, 0), PadPositions(states, Card.AnswerPositions));
        return (total, adapterInput, GreedyLabels(first, logProbs, starts, rows));
    }

    /// <summary>The label tokens back to back: where each label starts, the tokens, each token's label, and the token
    /// each one predicts.</summary>
    private (int[] Starts, int[] Tokens, int[] Segment, int[] Next) PackedLabels()
    {
        int k = labelTokens.Length, length = labelTokens.Sum(l => l.Length);
        var starts = new int[k];
        var tokens = new int[length];
        var segment = new int[length];
        var next = new int[length];
        int p = 0;
        for (int j = 0; j < k; j++)
        {
            var l = labelTokens[j];
            starts[j] = p;
            for (int t = 0; t < l.Length; t++, p++)
            {
                tokens[p] = l[t];
                segment[p] = j;
                next[p] = t < l.Length - 1 ? l[t + 1] : Tokenizer.EosId;
            }
        }
        return (starts, tokens, segment, next);
    }

    /// <summary>
    /// Greedy decoding under the label trie, replayed on the scored distributions: from the root, take the allowed token
    /// (a child, or EOS where a label ends) with the highest log-probability, lowest id on a tie as argmax does.
    /// </summary>
    private int[] GreedyLabels(Tensor firstLogProbs, Tensor packedLogProbs, int[] starts, int rows)
    {
        int length = (int)packedLogProbs.shape[1];
        var candidates = labelTokens.SelectMany(l => l).Append(Tokenizer.EosId).Distinct().Order().ToArray();
        var column = new Dictionary<int, int>();
        for (int i = 0; i < candidates.Length; i++) column[candidates[i]] = i;
        int c = candidates.Length;
        var candidateIds = tensor(candidates.Select(x => (long)x).ToArray(), device: firstLogProbs.device);
        var atFirst = firstLogProbs.index_select(1, candidateIds).cpu().contiguous().data<float>().ToArray();    // [B, C]
        var atPacked = packedLogProbs.index_select(2, candidateIds).cpu().contiguous().data<float>().ToArray();  // [B, L, C]
        var result = new int[rows];
        for (int b = 0; b < rows; b++)
        {
            var prefix = new List<int>();
            while (true)
            {
                // The distribution after the prefix: the prompt's for the empty prefix, else that of any label that
                // starts with it, read at the position of the prefix's last token.
                int offset;
                if (prefix.Count == 0) offset = b * c;
                else
                {
                    int label = Array.FindIndex(labelTokens, l => l.Length >= prefix.Count && l.AsSpan(0, prefix.Count).SequenceEqual(prefix.ToArray()));
                    offset = (b * length + starts[label] + prefix.Count - 1) * c;
                }
                var source = prefix.Count == 0 ? atFirst : atPacked;
                int best = -1;
                float bestScore = float.NegativeInfinity;
                foreach (int id in trie!.AllowedNext(prefix))
                {
                    float score = source[offset + column[id]];
                    if (best < 0 || score > bestScore || (score == bestScore && id < best)) { best = id; bestScore = score; }
                }
                if (best == Tokenizer.EosId) break;
                prefix.Add(best);
            }
            result[b] = trie!.LabelOf(prefix);
        }
        return result;
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

/// <summary>
/// PredGen's forward of one micro-batch: L_W; the task adapter's input Z [B, adapter positions, H] (the states at the model's own
/// answer tokens, with gradients); the own answers; the tokens fed for L_W per row; and how many rows needed a second
/// continuation because their scheduled-sampling mix was not their own answer.
/// </summary>
internal sealed record PredGenPass(Tensor WriterLoss, Tensor AdapterInput, int[][] OwnTokens, int[][] FedTokens, int ExtraRows);
