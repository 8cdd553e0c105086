#!/usr/bin/env bash
# JoeyNMT 2.3 and transduce, one right after the other on this machine, with the same data, the
# same model and the same budget in epochs: Multi30k de->en (lowercased word tokens, words seen
# at least twice), a post-norm Transformer 3+3 layers, d_model 256, 8 heads, d_ff 512, dropout
# 0.1, Adam (0.9, 0.98) at a constant 0.0005, batches of 128 sentences, label smoothing 0.1,
# gradient clipping 1.0. Both are scored by `transduce score` (sacreBLEU's BLEU and chrF) on
# test_2016_flickr, greedy and beam 5 (length penalty alpha 1.0), against the raw (cased)
# references and lowercased.
#
#   scripts/compare-joeynmt.sh [EPOCHS] [OUT]      (defaults: 2, runs/compare-joeynmt)
#   TABLE_ONLY=1 scripts/compare-joeynmt.sh ...      (only rebuilds the table from OUT)
#   SKIP_JOEYNMT=1 TRANSDUCE_TRAINING='"bucket": false' scripts/compare-joeynmt.sh 2 OUT2
#       (only the transduce side, with more training options; the table needs JoeyNMT's run,
#       so copy OUT/joeynmt into OUT2 first)
#
# Writes OUT/results.md (the table), OUT/lscpu.txt, both runs and their hypotheses. Installs
# JoeyNMT with pip into a virtual environment that reuses an installed PyTorch
# (JOEYNMT_VENV, default ~/.cache/joeynmt-venv). The corpus is read from MULTI30K
# (default ../shared/corpora/multi30k).
set -euo pipefail
cd "$(dirname "$0")/.."

EPOCHS=${1:-2}
OUT=${2:-runs/compare-joeynmt}
M=$(realpath "${MULTI30K:-../shared/corpora/multi30k}")
VENV=${JOEYNMT_VENV:-$HOME/.cache/joeynmt-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/transduce-target}

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" -c "import joeynmt" 2>/dev/null ||
    "$VENV/bin/pip" install --quiet joeynmt==2.3.0 importlib_metadata
# Built as the README's test command builds it: the same features, so nothing is rebuilt
# after it (a plain `cargo build` resolves burn's features differently and rebuilds burn).
cargo test --release --workspace --features ndarray,wgpu --no-run --quiet
transduce="$CARGO_TARGET_DIR/release/transduce"

mkdir -p "$OUT"
OUT=$(realpath "$OUT")
lscpu >"$OUT/lscpu.txt"
mkdir -p "$OUT/data"
for split in train val test_2016_flickr; do
    for lang in de en; do ln -sf "$M/$split.$lang" "$OUT/data/$split.$lang"; done
done

# ---- JoeyNMT -----------------------------------------------------------------------------
side() {
    cat <<EOF
        lang: "$1"
        max_length: 100
        min_length: 1
        lowercase: True
        normalize: False
        level: "word"
        voc_min_freq: 2
        tokenizer_cfg:
            pretokenizer: "moses"
EOF
}
stack() {
    cat <<EOF
        type: "transformer"
        num_layers: 3
        num_heads: 8
        embeddings:
            embedding_dim: 256
            scale: True
            dropout: 0.1
        hidden_size: 256
        ff_size: 512
        dropout: 0.1
        layer_norm: "post"
        activation: "relu"
EOF
}
joey_config() { # beam size, file
    cat >"$2" <<EOF
name: "multi30k_deen_transformer"
joeynmt_version: "2.3.0"
model_dir: "$OUT/joeynmt/model"
use_cuda: False
fp16: False
random_seed: 42
data:
    train: "$OUT/data/train"
    dev: "$OUT/data/val"
    test: "$OUT/data/test_2016_flickr"
    dataset_type: "plain"
    src:
$(side de)
    trg:
$(side en)
testing:
    n_best: 1
    beam_size: $1
    beam_alpha: 1.0
    batch_size: 64
    batch_type: "sentence"
    max_output_length: 100
    eval_metrics: ["bleu"]
    sacrebleu_cfg:
        tokenize: "13a"
training:
    optimizer: "adam"
    adam_betas: [0.9, 0.98]
    learning_rate: 0.0005
    scheduling: "exponential"  # gamma 1.0: a constant rate (JoeyNMT 2.3's plateau fails on PyTorch 2.15)
    decrease_factor: 1.0
    clip_grad_norm: 1.0
    weight_decay: 0.0
    loss: "crossentropy"
    label_smoothing: 0.1
    batch_size: 128
    batch_type: "sentence"
    normalization: "tokens"
    epochs: $EPOCHS
    validation_freq: 227
    logging_freq: 227
    early_stopping_metric: "bleu"
    shuffle: True
    overwrite: True
    keep_best_ckpts: 1
model:
    initializer: "xavier_uniform"
    bias_initializer: "zeros"
    embed_initializer: "xavier_uniform"
    tied_embeddings: False
    tied_softmax: False
    encoder:
$(stack)
    decoder:
$(stack)
EOF
}
timed() { # seconds file, command...: runs the command and writes its wall time
    local file=$1 start
    shift
    start=$(date +%s.%N)
    "$@"
    echo "$(date +%s.%N) - $start" | bc >"$file"
}

if [ -z "${TABLE_ONLY:-}" ]; then
    mkdir -p "$OUT/joeynmt"
    [ -n "${SKIP_JOEYNMT:-}" ] || {
        joey_config 1 "$OUT/joeynmt/greedy.yaml"
        joey_config 5 "$OUT/joeynmt/beam5.yaml"
        timed "$OUT/joeynmt/seconds" "$VENV/bin/python" -m joeynmt train "$OUT/joeynmt/greedy.yaml" \
            --skip-test >"$OUT/joeynmt/train.out" 2>&1
        for search in greedy beam5; do
            "$VENV/bin/python" -m joeynmt test "$OUT/joeynmt/$search.yaml" \
                --output-path "$OUT/joeynmt/$search" >"$OUT/joeynmt/test-$search.out" 2>&1
        done
    }

    cat >"$OUT/transduce.json" <<EOF
{
  "data": {"src": "$OUT/data/train.de", "tgt": "$OUT/data/train.en",
           "valid_src": "$OUT/data/val.de", "valid_tgt": "$OUT/data/val.en",
           "test_src": "$OUT/data/test_2016_flickr.de", "test_tgt": "$OUT/data/test_2016_flickr.en",
           "lowercase": true, "tokenizer": "word", "min_freq": 2, "max_sentence_len": 100},
  "model": {"arch": "transformer", "d_model": 256, "n_heads": 8, "d_ff": 512,
            "n_encoder_layers": 3, "n_decoder_layers": 3, "dropout": 0.1,
            "attention_dropout": 0.1, "embedding_dropout": 0.1},
  "training": {"epochs": $EPOCHS, "batch_size": 128, "lr": 0.0005, "schedule": "plateau",
               "plateau_patience": 1000, "label_smoothing": 0.1, "grad_clip": 1.0, "seed": 42${TRANSDUCE_TRAINING:+, $TRANSDUCE_TRAINING}}
}
EOF
    mkdir -p "$OUT/transduce"
    timed "$OUT/transduce/seconds" "$transduce" train --config "$OUT/transduce.json" --device flex \
        --artifact-dir "$OUT/transduce/run" >"$OUT/transduce/train.out" 2>&1
    for search in greedy beam5; do
        beam=$([ $search = greedy ] && echo 1 || echo 5)
        "$transduce" translate --artifact-dir "$OUT/transduce/run" --device flex --beam $beam \
            --alpha 1.0 --input "$OUT/data/test_2016_flickr.de" >"$OUT/transduce/$search.test"
    done
    # Our validation decodes the validation set greedily once per epoch: its share of the time.
    timed "$OUT/transduce/valid-decode-seconds" "$transduce" translate \
        --artifact-dir "$OUT/transduce/run" --device flex --input "$OUT/data/val.de" >/dev/null
fi

# ---- the table -----------------------------------------------------------------------------
ref="$OUT/data/test_2016_flickr.en"
score() { # hypotheses, then any extra flags
    "$transduce" score --hyp "$1" --ref "$ref" --json "${@:2}" |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.2f / %.2f" % (j["bleu"], j["chrf"]))'
}
cpu=$(sed -n 's/^Model name: *//p' "$OUT/lscpu.txt")
# Training time without validation: JoeyNMT logs each epoch's; ours is the wall time less one
# greedy decoding of the validation set per epoch.
joey_train=$(grep -a "total training loss" "$OUT/joeynmt/train.out" |
    sed 's/.*, \([0-9.]*\)\[sec\]/\1/' | paste -sd+ | bc)
ours_train=$(echo "$(cat "$OUT/transduce/seconds") - $EPOCHS * $(cat "$OUT/transduce/valid-decode-seconds")" | bc)
tokens=$(grep -a "total training loss" "$OUT/joeynmt/train.out" | tail -1 |
    sed 's/.*num. of tokens: \([0-9]*\),.*/\1/')
{
    echo "Multi30k de->en, Transformer 3+3 d_model 256, $EPOCHS epochs each, on $(nproc) cores of $cpu ($(date -u +%F)); $tokens target tokens per epoch (JoeyNMT's count)."
    echo
    echo "| toolkit | \`train\` wall time (s) | s per epoch | training only, s per epoch | target tokens/s | test BLEU / chrF, greedy, cased | greedy, lowercased | beam 5, cased | beam 5, lowercased |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for t in joeynmt transduce; do
        wall=$(cat "$OUT/$t/seconds")
        train=$([ $t = joeynmt ] && echo "$joey_train" || echo "$ours_train")
        printf '| %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %s | %s |\n' "$t" "$wall" \
            "$(echo "$wall / $EPOCHS" | bc -l)" "$(echo "$train / $EPOCHS" | bc -l)" \
            "$(echo "$tokens * $EPOCHS / $train" | bc -l)" \
            "$(score "$OUT/$t/greedy.test")" "$(score "$OUT/$t/greedy.test" --lowercase)" \
            "$(score "$OUT/$t/beam5.test")" "$(score "$OUT/$t/beam5.test" --lowercase)"
    done
} >"$OUT/results.md"
cat "$OUT/results.md"
