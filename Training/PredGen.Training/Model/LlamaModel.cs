using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>The decoder stack (Hugging Face "model."): embed_tokens, layers.N, norm. Returns the final-norm hidden states.</summary>
public sealed class LlamaModel : nn.Module<CausalLMInput, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "embed_tokens")] private readonly Embedding embedTokens;
    [TorchSharp.Utils.ComponentName(Name = "layers")] private readonly ModuleList<LlamaDecoderLayer> layers;
    [TorchSharp.Utils.ComponentName(Name = "norm")] private readonly RmsNorm norm;
    private readonly RotaryEmbedding rotary;

    public LlamaModel(LlamaConfig config, Device? device = null) : base(nameof(LlamaModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        embedTokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new LlamaDecoderLayer(config, i, device)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        rotary = new RotaryEmbedding(config);
        RegisterComponents();
    }

    public Embedding EmbedTokens => embedTokens;

    public override Tensor forward(CausalLMInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        var ids = input.InputIds;
        long b = ids.shape[0], t = ids.shape[1];
        var cache = input.Cache;
        long past = cache?.Length ?? 0;
        if (cache is not null && past > 0 && cache.Mask!.shape[0] != b)
            throw new ArgumentException($"The cache holds {cache.Mask.shape[0]} rows but the input has {b}.", nameof(input));

        if (input.Segments is { } segments) return PackedForward(input, segments, b, t, past);

        var newMask = input.AttentionMask is { } m ? m.to(ScalarType.Int64, ids.device) : ones(b, t, ScalarType.Int64, ids.device);
        var fullMask = past > 0 ? cat([cache!.Mask!, newMask], 1) : newMask;
        bool padded = input.AttentionMask is not null || past > 0 ? fullMask.eq(0).any().item<bool>() : false;

        // Positions count real tokens only, so a left-padded row sees the same rotary phases as the unpadded sequence.
        var pastCount = past > 0 ? cache!.Mask!.sum([1L], keepdim: true) : zeros(b, 1, ScalarType.Int64, ids.device);
        var positions = newMask.cumsum(1).sub(Scalars.One).add(pastCount, Scalars.One).clamp_min(Scalars.Zero); // rooted Scalars (Scalars.cs)

        return Layers(ids, positions, Layout(fullMask, padded, past, t), cache, fullMask);
    }

    /// <summary>Segments continuing the cached sequence side by side (<see cref="CausalLMInput.Segments"/>); the caller's
    /// dispose scope is open.</summary>
    private Tensor PackedForward(CausalLMInput input, int[] segments, long b, long t, long past)
    {
        if (segments.Length != t) throw new ArgumentException($"{segments.Length} segment ids for {t} new tokens.", nameof(input));
        if (past == 0) throw new ArgumentException("Packed segments continue a cached sequence: the cache is empty.", nameof(input));
        if (input.AttentionMask is not null) throw new ArgumentException("Packed segments have no padding: pass no attention mask.", nameof(input));
        var cache = input.Cache!;
        var device = input.InputIds.device;
        var offsets = new long[t];
        for (int i = 1; i < t; i++)
        {
            if (segments[i] != segments[i - 1] && Array.IndexOf(segments, segments[i], 0, i) >= 0)
                throw new ArgumentException("A segment's tokens must be contiguous.", nameof(input));
            offsets[i] = segments[i] == segments[i - 1] ? offsets[i - 1] + 1 : 0;
        }
        // Every segment starts where the cached sequence ends (real tokens only, as ordinary continuations count them).
        var pastCount = cache.Mask!.sum([1L], keepdim: true);                                      // [B, 1]
        var positions = pastCount.add(tensor(offsets, device: device).view(1, t), Scalars.One);      // [B, T]
        var segment = tensor(segments.Select(x => (long)x).ToArray(), device: device);
        var index = arange(t, ScalarType.Int64, device);
        var withinSegment = segment.view(t, 1).eq(segment.view(1, t)).logical_and(index.view(1, t).le(index.view(t, 1)));   // [T, T]
        var toCache = cache.Mask!.ne(0).view(b, 1, 1, past).expand(b, 1, t, past);
        var allowed = cat([toCache, withinSegment.view(1, 1, t, t).expand(b, 1, t, t)], 3);        // [B, 1, T, past + T]

        return Layers(input.InputIds, positions, new AttentionLayout(IsCausal: false, Mask: allowed), cache,
            cat([cache.Mask!, ones(b, t, ScalarType.Int64, device)], 1));
    }

    /// <summary>What both forwards share once positions and mask are known: embed, the rotary tables, every layer, the
    /// cache's new mask, the final norm (moved out of the caller's dispose scope).</summary>
    private Tensor Layers(Tensor ids, Tensor positions, AttentionLayout layout, KVCache? cache, Tensor fullMask)
    {
        var hidden = embedTokens.forward(ids);
        var (cos, sin) = rotary.Tables(positions, hidden.dtype);
        var context = new LayerContext(cos, sin, layout, cache);
        foreach (var layer in layers) hidden = layer.forward(new LayerInput(hidden, context));
        cache?.Commit(fullMask);
        return norm.forward(hidden).MoveToOuterDisposeScope();
    }

    private static AttentionLayout Layout(Tensor fullMask, bool padded, long past, long t)
    {
        if (!padded && past == 0) return new AttentionLayout(IsCausal: t > 1, Mask: null);
        if (!padded && t == 1) return new AttentionLayout(IsCausal: false, Mask: null);
        long s = past + t;
        var device = fullMask.device;
        var queryIndex = arange(past, s, ScalarType.Int64, device).unsqueeze(1);
        var keyIndex = arange(0, s, ScalarType.Int64, device).unsqueeze(0);
        var causal = keyIndex.le(queryIndex);
        // A padding query would see no key at all (softmax of nothing is NaN); let it see itself. Real tokens never see padding.
        var self = keyIndex.eq(queryIndex);
        var keyIsToken = fullMask.ne(0).view(fullMask.shape[0], 1, 1, s);
        var allowed = causal.view(1, 1, t, s).logical_and(keyIsToken.logical_or(self.view(1, 1, t, s)));
        return new AttentionLayout(IsCausal: false, Mask: allowed);
    }
}
