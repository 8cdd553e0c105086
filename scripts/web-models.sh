#!/usr/bin/env bash
# Trains the web page's two models with the default commands and exports them to web/models/:
#   reverse   the default run, `transduce train` (a small Transformer reversing digit strings)
#   dates     `transduce train --task dates --arch bahdanau --epochs 8` (dates in English,
#             French and Korean to ISO 8601, with Bahdanau attention)
#
#   scripts/web-models.sh [RUNS]     RUNS: where the training runs go (default runs/web)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/transduce-target}
runs=${1:-runs/web}
cargo build --release --quiet --features ndarray,wgpu
transduce="$CARGO_TARGET_DIR/release/transduce"
"$transduce" train --device flex --artifact-dir "$runs/reverse"
"$transduce" train --device flex --task dates --arch bahdanau --epochs 8 --artifact-dir "$runs/dates"
# Exported beside the page first, so that a failed export leaves the page's models as they were.
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
for name in reverse dates; do
    "$transduce" export --artifact-dir "$runs/$name" --web "$staging" --name "$name"
done
rm -rf web/models
mv "$staging/models" web/models
