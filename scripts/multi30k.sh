#!/usr/bin/env bash
# Multi30k de->en for one family, scored as the README's table is: trains
# assets/configs/multi30k-FAMILY.json (or resumes an interrupted run of it), then translates
# test_2016_flickr greedily and with beam 5 (length penalty alpha 1.0) and scores both with
# `transduce score`, cased against the raw references and lowercased (`--lowercase`).
#
#   scripts/multi30k.sh FAMILY [OUT]     FAMILY: lstm, gru, bahdanau or transformer
#                                        OUT: default runs/multi30k
#
# Writes OUT/FAMILY/ (the artifact; a finished one is not trained again), OUT/FAMILY.greedy and
# OUT/FAMILY.beam5 (the translations), OUT/FAMILY.md (the table row) and OUT/lscpu.txt. The
# corpus is read from the recipe's paths (../shared/corpora/multi30k beside the checkout).
# TRANSDUCE=path/to/transduce uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

FAMILY=${1:?usage: scripts/multi30k.sh lstm|gru|bahdanau|transformer [OUT]}
OUT=${2:-runs/multi30k}
RECIPE=assets/configs/multi30k-$FAMILY.json
[ -f "$RECIPE" ] || { echo "$RECIPE: no such recipe (lstm, gru, bahdanau or transformer)"; exit 1; }
if [ -n "${TRANSDUCE:-}" ]; then
    transduce=$TRANSDUCE # a built binary, e.g. a copy that later builds leave alone
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/transduce-target}
    cargo build --release --quiet --features ndarray,wgpu
    transduce="$CARGO_TARGET_DIR/release/transduce"
fi
test_src=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["test_src"])' "$RECIPE")
test_ref=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["test_tgt"])' "$RECIPE")

mkdir -p "$OUT"
lscpu >"$OUT/lscpu.txt"
run="$OUT/$FAMILY"
if [ ! -f "$run/report.json" ]; then
    if [ -d "$run" ]; then
        "$transduce" train --resume "$run" --device flex
    else
        "$transduce" train --config "$RECIPE" --device flex --artifact-dir "$run"
    fi
fi
for search in greedy beam5; do
    beam=$([ $search = greedy ] && echo 1 || echo 5)
    "$transduce" translate --artifact-dir "$run" --device flex --beam $beam --alpha 1.0 \
        --input "$test_src" >"$OUT/$FAMILY.$search"
done

bleu() { # hypotheses, then any extra flags
    "$transduce" score --hyp "$1" --ref "$test_ref" --json "${@:2}" |
        python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["bleu"])'
}
chrf=$("$transduce" score --hyp "$OUT/$FAMILY.greedy" --ref "$test_ref" --json --lowercase |
    python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["chrf"])')
# Target tokens per epoch (with <eos>), from `transduce data --stats`: mean per sentence x pairs.
tokens=$("$transduce" data --stats --config "$RECIPE" |
    python3 -c 'import re,sys
t = sys.stdin.read()
pairs = int(re.search(r"pairs: (\d+) train", t).group(1))
mean = float(re.search(r"target tokens per training sentence: min \d+ / mean ([0-9.]+)", t).group(1))
print(round(pairs * (mean + 1)))')
python3 - "$run" "$FAMILY" "$tokens" "$(bleu "$OUT/$FAMILY.greedy") / $(bleu "$OUT/$FAMILY.greedy" --lowercase)" \
    "$(bleu "$OUT/$FAMILY.beam5") / $(bleu "$OUT/$FAMILY.beam5" --lowercase)" "$chrf" >"$OUT/$FAMILY.md" <<'EOF'
import csv, json, sys
run, family, tokens, greedy, beam, chrf = sys.argv[1:]
report = json.load(open(f"{run}/report.json"))
rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
epochs, wall = len(rows), float(rows[-1]["elapsed_s"])
# The fastest epoch: the others may have shared the cores with other work.
fastest = min(float(b["elapsed_s"]) - float(a["elapsed_s"]) for a, b in zip([{"elapsed_s": 0}] + rows, rows))
print(f"| {family} | {report['n_params']:,} | {epochs} | {wall:,.0f} s | {fastest:,.0f} s | "
      f"{int(tokens) / fastest:,.0f} | {greedy} | {beam} | {chrf} |")
EOF
cat "$OUT/$FAMILY.md"
