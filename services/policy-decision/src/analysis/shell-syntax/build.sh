#!/usr/bin/env bash
# Rebuilds shell-syntax.wasm.gz from main.go (needs the Go release named in go.mod; module versions pinned in go.sum).
# wasm_exec.js must come from the same Go release as the compiler.
set -euo pipefail
cd "$(dirname "$0")"
GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o shell-syntax.wasm .
gzip -9 -n -f shell-syntax.wasm
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" wasm_exec.js
echo "built $(pwd)/shell-syntax.wasm.gz with $(go version)"
