using PredGen.Training.Model;
using static TorchSharp.torch;

namespace PredGen.Training.Generation;

/// <summary>Restricts what a row may generate next (label vocabularies, number formats).</summary>
public interface IDecodingConstraint
{
    /// <summary>
    /// Token ids allowed next for <paramref name="row"/> given what it generated so far: null = any token, an empty set =
    /// the constrained answer is complete (the row stops). Include a stop token in the set to let the row end itself.
    /// </summary>
    IReadOnlySet<int>? AllowedNext(int row, IReadOnlyList<int> generatedSoFar);
}

/// <param name="Tokens">Per row, the generated ids (the stop token excluded).</param>
/// <param name="HiddenStates">[B, maxGenerated, H] when asked for: for generated token t of a row, the final-norm hidden
/// state AT that token (the output of the position the token was fed at; teacher-forced over prompt+answer, index
/// promptLength + t), the last generated token included; zeros past a row's end. PredGen's task adapter reads these
/// (the paper's Z[n:n+m]), so the decoder feeds a row's last token once more even when nothing is left to generate.
/// The caller owns the tensor (it is moved out of the decoder's dispose scope).</param>
/// <param name="PromptLastHidden">[B, H] with the hidden states (from <see cref="GreedyDecoder.Generate"/>): the state at
/// each prompt's last token, the one that wrote the first generated token. Owned by the caller as well.</param>
public sealed record GenerationResult(IReadOnlyList<int[]> Tokens, Tensor? HiddenStates, Tensor? PromptLastHidden = null);

/// <summary>Batched greedy decoding with left-padded prompts, a KV cache, and per-row stopping.</summary>
public static class GreedyDecoder
{
    public static GenerationResult Generate(
        LlamaForCausalLM model,
        IReadOnlyList<IReadOnlyList<int>> prompts,
        int maxNewTokens,
        int padId,
        IReadOnlySet<int> stopTokens,
        IDecodingConstraint? constraint = null,
        bool returnHiddenStates = false)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (NothingToGenerate(model, stopTokens, prompts.Count, maxNewTokens) is { } nothing) return nothing;
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("Every prompt needs at least one token (e.g. BOS).", nameof(prompts));

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (ids, mask) = LeftPad(prompts, padId, model.Device);
        using var cache = model.NewCache();
        var last = model.forward(new CausalLMInput(ids, mask, cache, ComputeLogits: false)).HiddenStates.select(1, -1);
        var result = Continue(model, cache, last, maxNewTokens, padId, stopTokens, constraint, returnHiddenStates);
        if (!returnHiddenStates) return result;
        result.HiddenStates?.MoveToOuterDisposeScope();
        return result with { PromptLastHidden = last.MoveToOuterDisposeScope() };
    }

    /// <summary>
    /// Greedy decoding that continues prompts already in <paramref name="cache"/> (which it extends; pass a
    /// <see cref="KVCache.Fork"/> to keep the original), from their last final-norm hidden states
    /// <paramref name="lastHidden"/> [B, H]. Inference decodes through here after its prompt forward, and PredGen's
    /// training step decodes its own answer through here on a fork of the training forward's prompt cache, so both
    /// draw the same tokens by the same code. Runs without gradients; the module's train/eval mode is the caller's.
    /// </summary>
    public static GenerationResult Continue(
        LlamaForCausalLM model,
        KVCache cache,
        Tensor lastHidden,
        int maxNewTokens,
        int padId,
        IReadOnlySet<int> stopTokens,
        IDecodingConstraint? constraint = null,
        bool returnHiddenStates = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(lastHidden);
        int rows = (int)lastHidden.shape[0];
        if (NothingToGenerate(model, stopTokens, rows, maxNewTokens) is { } nothing) return nothing;
        var generated = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var device = model.Device;
        var finished = new bool[rows];
        var statesAtTokens = new List<Tensor>();
        var emitted = new List<bool[]>();
        var last = lastHidden.detach();
        for (int step = 0; step < maxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var logits = model.Logits(last);                         // [B, V] fp32
            if (constraint is not null) logits = Constrain(logits, constraint, generated, finished);
            long[] next = logits.argmax(-1).cpu().data<long>().ToArray();
            var emittedNow = new bool[rows];
            for (int r = 0; r < rows; r++)
            {
                if (finished[r]) continue;
                int token = (int)next[r];
                if (stopTokens.Contains(token)) { finished[r] = true; continue; }
                generated[r].Add(token);
                emittedNow[r] = true;
            }
            bool anyEmitted = emittedNow.Any(e => e);
            // Feeding the tokens just emitted gives the states at them; without hidden states the last feed is wasted.
            bool lastStep = step == maxNewTokens - 1;
            if (!anyEmitted || (lastStep && !returnHiddenStates)) break;

            // Rows that are done keep decoding a pad (their outputs are ignored) so the batch stays rectangular.
            var feed = tensor(next.Select((t, r) => emittedNow[r] ? t : padId).ToArray(), device: device).view(rows, 1);
            var output = model.forward(new CausalLMInput(feed, null, cache, ComputeLogits: false));
            last = output.HiddenStates.select(1, -1).MoveToOuterDisposeScope();
            if (returnHiddenStates)
            {
                statesAtTokens.Add(last);   // lives in the decoder's scope, not the step's
                emitted.Add(emittedNow);
            }
            if (lastStep) break;
        }

        Tensor? states = null;
        int longest = generated.Max(g => g.Count);
        if (returnHiddenStates && longest > 0)
        {
            var stacked = stack(statesAtTokens.Take(longest), 1); // [B, steps, H]
            var keep = tensor(Enumerable.Range(0, rows).SelectMany(r => Enumerable.Range(0, longest).Select(s => emitted[s][r])).ToArray(), device: device)
                .view(rows, longest, 1);
            states = stacked.mul(keep.to(stacked.dtype)).MoveToOuterDisposeScope();
        }
        else if (returnHiddenStates)
        {
            states = zeros(rows, 0, model.Config.HiddenSize, model.DType, device).MoveToOuterDisposeScope();
        }
        return new GenerationResult(generated.Select(g => g.ToArray()).ToArray(), states);
    }

    /// <summary>The checks both entry points share; an empty result (one empty answer per row) when there is nothing to
    /// decode, else null.</summary>
    private static GenerationResult? NothingToGenerate(LlamaForCausalLM model, IReadOnlySet<int> stopTokens, int rows, int maxNewTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stopTokens);
        return rows == 0 || maxNewTokens <= 0 ? new GenerationResult(Enumerable.Range(0, rows).Select(_ => Array.Empty<int>()).ToArray(), null) : null;
    }

    /// <summary>Left-pads prompts to a rectangle: ids [B, L] and mask [B, L] (1 = token).</summary>
    public static (Tensor Ids, Tensor Mask) LeftPad(IReadOnlyList<IReadOnlyList<int>> prompts, int padId, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        int rows = prompts.Count, width = prompts.Max(p => p.Count);
        var ids = new long[rows * width];
        var mask = new long[rows * width];
        for (int r = 0; r < rows; r++)
        {
            int offset = width - prompts[r].Count;
            for (int i = 0; i < width; i++)
            {
                bool token = i >= offset;
                ids[r * width + i] = token ? prompts[r][i - offset] : padId;
                mask[r * width + i] = token ? 1 : 0;
            }
        }
        return (tensor(ids, device: device).view(rows, width), tensor(mask, device: device).view(rows, width));
    }

    private static Tensor Constrain(Tensor logits, IDecodingConstraint constraint, List<int>[] generated, bool[] finished)
    {
        long vocab = logits.shape[1];
        var allowedMask = new bool[logits.shape[0] * vocab];
        bool any = false;
        for (int r = 0; r < generated.Length; r++)
        {
            var allowed = finished[r] ? null : constraint.AllowedNext(r, generated[r]);
            if (allowed is null)
            {
                Array.Fill(allowedMask, true, (int)(r * vocab), (int)vocab);
                continue;
            }
            any = true;
            if (allowed.Count == 0) { finished[r] = true; Array.Fill(allowedMask, true, (int)(r * vocab), (int)vocab); continue; }
            foreach (int id in allowed)
                if (id >= 0 && id < vocab) allowedMask[r * vocab + id] = true;
        }
        if (!any) return logits;
        var keep = tensor(allowedMask, device: logits.device).view(logits.shape[0], vocab);
        return logits.masked_fill(keep.logical_not(), float.NegativeInfinity);
    }
}
