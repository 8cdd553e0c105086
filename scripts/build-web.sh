#!/usr/bin/env bash
# Builds the web page in web/: compiles crates/transduce-web to WebAssembly and generates its
# JavaScript bindings into web/pkg/ with the wasm-bindgen CLI of the version Cargo.lock pins
# (installed by cargo when missing). The page's models are in web/models/ (see
# scripts/web-models.sh); serve the directory with, e.g., `python3 -m http.server -d web 8000`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/transduce-target}

rustup target add wasm32-unknown-unknown >/dev/null
version=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
    # Not --locked: the CLI's own lock file pins a webpki-roots release that crates.io yanked.
    # --debug: an unoptimised build compiles in a fraction of the time (it matters on a fresh
    # machine, in CI) and still processes the module in seconds.
    cargo install --debug wasm-bindgen-cli --version "$version"
fi
cargo build --release -p transduce-web --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/transduce_web.wasm"
ls -l web/pkg
