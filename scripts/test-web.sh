#!/usr/bin/env bash
# The web page in a real browser: builds it (scripts/build-web.sh), serves web/ on 127.0.0.1,
# and has headless Chromium (Debian's `chromium`, driven by web/test/browser.mjs) translate 50
# inputs per model greedily and 10 with beam 4, typed into the page, comparing each translation
# with `transduce translate`'s for the same model, input and search; it also checks that the
# attention heatmap is drawn and saves screenshots (SCREENSHOT, default web/test/page.png, gets
# -cpu and -webgpu suffixes). It runs the page on the CPU backend, then on WebGPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/transduce-target}

if ! command -v chromium >/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
(cd web/test && npm ci --no-audit --no-fund --silent)
scripts/build-web.sh
# The CLI, built as the README's test command builds it (the same features, so that after
# `cargo test` in .ci/run this compiles nothing: a plain `cargo build` of the root package
# resolves burn's features differently and would rebuild burn).
cargo test --release --workspace --features ndarray,wgpu --no-run --quiet
transduce="$CARGO_TARGET_DIR/release/transduce"

# The cases: inputs drawn from each model's task with another seed than training's, and the
# CLI's translations of them.
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true' EXIT
for model in $(python3 -c 'import json; print(" ".join(e["name"] for e in json.load(open("web/models/index.json"))))'); do
    dir="web/models/$model"
    task=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"].get("task") or "")' "$dir/config.json")
    if [ -z "$task" ]; then
        echo "$model: not trained on a built-in task, so no inputs to draw: skipped"
        continue
    fi
    "$transduce" data --task "$task" --n 50 --seed 1 | cut -f1 >"$work/$model.inputs"
    for beam in 1 4; do
        n=$([ $beam = 1 ] && echo 50 || echo 10)
        head -n $n "$work/$model.inputs" >"$work/$model.$beam.inputs"
        "$transduce" translate --artifact-dir "$dir" --device flex --beam $beam \
            --input "$work/$model.$beam.inputs" >"$work/$model.$beam.expected"
    done
done
python3 - "$work" >"$work/cases.json" <<'PY'
import glob, json, os, sys
work = sys.argv[1]
cases = []
for path in sorted(glob.glob(f"{work}/*.*.expected")):
    model, beam, _ = os.path.basename(path).rsplit(".", 2)
    lines = lambda p: open(p, encoding="utf-8").read().splitlines()
    cases.append({"model": model, "beam": int(beam),
                  "inputs": lines(f"{work}/{model}.{beam}.inputs"), "expected": lines(path)})
json.dump(cases, sys.stdout, ensure_ascii=False)
PY

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory web "$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/" >/dev/null || { cat "$work/server.log"; exit 1; }
# Twice: Chromium without WebGPU (the page falls back to the CPU backend), then with its WebGPU
# turned on (--enable-unsafe-webgpu: on a machine without a GPU, Chromium's software adapter,
# SwiftShader, which takes seconds a sentence: so the first 4 inputs of each case only).
screenshot=${SCREENSHOT:-web/test/page.png}
for backend in cpu webgpu; do
    echo "== the page in Chromium, expecting the $backend backend"
    node web/test/browser.mjs --url "http://127.0.0.1:$port/" --cases "$work/cases.json" \
        --backend $backend --screenshot "${screenshot%.png}-$backend.png" \
        $([ $backend = webgpu ] && echo --limit 4)
done
