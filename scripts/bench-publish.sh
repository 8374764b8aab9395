#!/usr/bin/env bash
# Publishes stedi-bench as the benchmark figures were measured: self-contained, the app and the .NET libraries
# compiled ahead of time together (composite ReadyToRun), tiered compilation off. A single run of the pipeline then
# spends no time in the JIT (a plain Release build spends 2-3 s of CPU there at N = 10) and its code is as good as
# the JIT's best (ReadyToRun code of one assembly alone cannot inline across into another one, which is slower).
# Takes a few minutes. Usage: scripts/bench-publish.sh [OUTPUT_DIR]   (default bench/out/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/out/bin}"
rid="linux-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')"
dotnet publish bench -c Release -r "$rid" --self-contained true \
  -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -p:TieredCompilation=false \
  -o "$out" --nologo -v quiet
echo "published $out/stedi-bench"
