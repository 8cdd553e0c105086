#!/usr/bin/env bash
# One recipe of assets/configs/ trained and scored as the README's corpus tables are: trains
# assets/configs/NAME.json (or resumes an interrupted run of it), then translates its test set
# greedily and with beam 5 (length penalty alpha 1.0) and scores both with `transduce score`,
# cased against the raw references and lowercased (`--lowercase`).
#
#   scripts/recipe.sh NAME [OUT]     NAME: e.g. multi30k-gru or tatoeba-transformer
#                                    OUT: default runs/recipes
#
# The test set is the recipe's `test_src`/`test_tgt` files when it names them (Multi30k's
# test_2016_flickr), otherwise the pairs the run held out (the artifact's test.tsv).
# Writes OUT/NAME/ (the artifact; a finished one is not trained again), OUT/NAME.greedy and
# OUT/NAME.beam5 (the translations), OUT/NAME.md (the table's row) and OUT/lscpu.txt.
# TRANSDUCE=path/to/transduce uses that binary instead of building one; EPOCHS=N trains N epochs
# instead of the recipe's (a smaller budget, or more when resuming a finished run is not needed);
# DEVICE=wgpu (or cuda, ndarray, ...) trains and translates there instead of on flex, the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=${1:?usage: scripts/recipe.sh NAME [OUT], NAME one of: $(cd assets/configs && ls -- *.json | sed 's/\.json$//' | tr '\n' ' ')}
OUT=${2:-runs/recipes}
RECIPE=assets/configs/$NAME.json
[ -f "$RECIPE" ] || { echo "$RECIPE: no such recipe"; exit 1; }
if [ -n "${TRANSDUCE:-}" ]; then
    transduce=$TRANSDUCE # a built binary, e.g. a copy that later builds leave alone
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/transduce-target}
    # Built as the README's test command builds it: the same features, so nothing is rebuilt
    # after it (a plain `cargo build` resolves burn's features differently and rebuilds burn).
    cargo test --release --workspace --features ndarray,wgpu --no-run --quiet
    transduce="$CARGO_TARGET_DIR/release/transduce"
fi

DEVICE=${DEVICE:-flex}

mkdir -p "$OUT"
lscpu >"$OUT/lscpu.txt"
run="$OUT/$NAME"
if [ ! -f "$run/report.json" ]; then
    if [ -d "$run" ]; then
        "$transduce" train --resume "$run" --device "$DEVICE" ${EPOCHS:+--epochs "$EPOCHS"}
    else
        "$transduce" train --config "$RECIPE" --device "$DEVICE" --artifact-dir "$run" ${EPOCHS:+--epochs "$EPOCHS"}
    fi
fi

data() { # a key of the recipe's "data", or nothing
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"].get(sys.argv[2], ""))' "$RECIPE" "$1"
}
test_src=$(data test_src)
test_ref=$(data test_tgt)
if [ -z "$test_src" ]; then # the held-out pairs: source, tab, reference
    test_src="$OUT/$NAME.test.src"
    test_ref="$OUT/$NAME.test.ref"
    cut -f1 "$run/test.tsv" >"$test_src"
    cut -f2 "$run/test.tsv" >"$test_ref"
fi

for search in greedy beam5; do
    beam=$([ $search = greedy ] && echo 1 || echo 5)
    "$transduce" translate --artifact-dir "$run" --device "$DEVICE" --beam $beam --alpha 1.0 \
        --input "$test_src" >"$OUT/$NAME.$search"
done

bleu() { # hypotheses, then any extra flags
    "$transduce" score --hyp "$1" --ref "$test_ref" --json "${@:2}" |
        python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["bleu"])'
}
chrf=$("$transduce" score --hyp "$OUT/$NAME.greedy" --ref "$test_ref" --json --lowercase |
    python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["chrf"])')
# Target tokens per epoch (with <eos>): the run's own count of its training pairs and their mean
# target length, from `transduce data --stats`.
tokens=$("$transduce" data --stats --config "$run/config.json" |
    python3 -c 'import re,sys
t = sys.stdin.read()
pairs = int(re.search(r"pairs: (\d+) train", t).group(1))
mean = float(re.search(r"target tokens per training sentence: min \d+ / mean ([0-9.]+)", t).group(1))
print(round(pairs * (mean + 1)))')
python3 - "$run" "$NAME" "$tokens" "$(bleu "$OUT/$NAME.greedy") / $(bleu "$OUT/$NAME.greedy" --lowercase)" \
    "$(bleu "$OUT/$NAME.beam5") / $(bleu "$OUT/$NAME.beam5" --lowercase)" "$chrf" >"$OUT/$NAME.md" <<'EOF'
import csv, json, sys
run, name, tokens, greedy, beam, chrf = sys.argv[1:]
report = json.load(open(f"{run}/report.json"))
rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
epochs, wall = len(rows), float(rows[-1]["elapsed_s"])
# The fastest epoch: the others may have shared the cores with other work.
fastest = min(float(b["elapsed_s"]) - float(a["elapsed_s"]) for a, b in zip([{"elapsed_s": 0}] + rows, rows))
print(f"| {name} | {report['n_params']:,} | {epochs} | {wall:,.0f} s | {fastest:,.0f} s | "
      f"{int(tokens) / fastest:,.0f} | {greedy} | {beam} | {chrf} |")
EOF
cat "$OUT/$NAME.md"
