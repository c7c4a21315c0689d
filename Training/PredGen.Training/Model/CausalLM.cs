using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>Input of <see cref="LlamaForCausalLM"/>.</summary>
/// <param name="InputIds">[B, T] int64 token ids.</param>
/// <param name="AttentionMask">[B, T] 1 = token, 0 = padding, for the tokens of <paramref name="InputIds"/> only (the cache
/// remembers the mask of earlier calls). Left padding is supported; null means no padding.</param>
/// <param name="Cache">When given, the keys/values of these tokens are appended to it and attention covers the cached ones.</param>
/// <param name="ComputeLogits">false skips lm_head (heads that read hidden states only).</param>
/// <param name="Segments">Packed continuations: the segment of each of the T new tokens (the same for every row;
/// a segment's tokens are contiguous). Each segment continues the cached sequence on its own: its tokens take positions
/// from the cache's end and attend to the cache and to the earlier tokens of their own segment only, so K
/// continuations of one prompt run as one row of the cache instead of K copies of it (exact label scoring). Needs a
/// non-empty cache; null: the new tokens form one ordinary causal continuation.</param>
public sealed record CausalLMInput(Tensor InputIds, Tensor? AttentionMask = null, KVCache? Cache = null, bool ComputeLogits = true, int[]? Segments = null);

/// <summary>Output of <see cref="LlamaForCausalLM"/>.</summary>
/// <param name="Logits">[B, T, V] in fp32 when asked for.</param>
/// <param name="HiddenStates">[B, T, H] after the final RMSNorm: what lm_head and task heads read.</param>
/// <param name="Cache">The cache passed in, now holding these tokens too.</param>
public sealed record CausalLMOutput(Tensor? Logits, Tensor HiddenStates, KVCache? Cache);

/// <summary>What every decoder layer needs for one forward: rotary tables (computed once per forward, as in ML.NET's
/// GenAI.LLaMA), the mask, the cache.</summary>
public sealed record LayerContext(Tensor Cos, Tensor Sin, AttentionLayout Attention, KVCache? Cache);

/// <summary>How attention is masked in this forward: causal kernel, explicit boolean mask, or nothing (one new token, no padding).</summary>
public sealed record AttentionLayout(bool IsCausal, Tensor? Mask);

/// <summary>Input of <see cref="LlamaDecoderLayer"/> and <see cref="LlamaAttention"/>: [B, T, H] hidden states and the
/// forward's shared <see cref="LayerContext"/>.</summary>
public sealed record LayerInput(Tensor Hidden, LayerContext Context);
