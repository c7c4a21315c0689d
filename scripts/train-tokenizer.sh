#!/usr/bin/env bash
# Trains the default base model's SentencePiece tokenizer on the pretraining corpus (data/corpus/*.txt, built by
# scripts/build-pretraining-corpus.sh) into OUT_DIR (default data/tokenizer): tokenizer.model + tokenizer_config.json,
# which Microsoft.ML.Tokenizers' LlamaTokenizer loads (HuggingFaceTokenizer.FromSentencePiece).
#
# Llama-2's settings (BPE, digits split into single tokens, byte fallback so no text is unknown, text kept exactly
# as written), with one departure: no dummy prefix. With it, "7" encodes as "▁" + "7" (two tokens) and PredGen's
# number grammar, which needs one token per character of an answer, could not use the tokenizer.
# 4,096 pieces: measured at equal compute against the byte tokenizer and a larger model (docs/PRETRAINING.md).
#
# Needs Debian's `sentencepiece` package (spm_train); deterministic for a given corpus (seeded sampling).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-data/tokenizer}"
VOCAB="${VOCAB:-4096}"
command -v spm_train >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sentencepiece >/dev/null; }
mkdir -p "$OUT"
inputs=$(ls data/corpus/*.txt | sort | paste -sd, -)
spm_train --input="$inputs" --model_prefix="$OUT/tokenizer" --vocab_size="$VOCAB" --model_type=bpe \
  --split_digits=true --byte_fallback=true --add_dummy_prefix=false --normalization_rule_name=identity \
  --remove_extra_whitespaces=false --allow_whitespace_only_pieces=true --character_coverage=0.9995 \
  --input_sentence_size=600000 --shuffle_input_sentence=true --seed_sentencepiece_size=1000000 \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3 --num_threads=1 --minloglevel=1
rm -f "$OUT/tokenizer.vocab"
cat > "$OUT/tokenizer_config.json" <<'JSON'
{
  "tokenizer_class": "LlamaTokenizer",
  "bos_token": "<s>",
  "eos_token": "</s>",
  "pad_token": "<pad>",
  "unk_token": "<unk>",
  "add_bos_token": false,
  "add_eos_token": false
}
JSON
sha256sum "$OUT/tokenizer.model"
