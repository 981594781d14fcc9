#!/usr/bin/env bash
# Relevance-guided mixed precision (docs/results/quantization.md): for each shipped model, three quantized folders at
# one budget fixed beforehand (uniform int8; LRP-guided, calibrated on 64 SciFact titles and texts, never its queries;
# a random choice at the same budget), each used to embed SciFact, searched exactly and evaluated beside float32.
# Speed is measured separately, side by side in one process (bench/Relevo.Bench.Dense encode --quantized ...).
#   RELEVO_DATA=../shared/datasets bench/quantize.sh            # MODELS="minilm arctic-xs" BUDGET=0.75 OUT=/tmp/relevo-quantize
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${MODELS:-"minilm arctic-xs"}
BUDGET=${BUDGET:-0.75}
OUT=${OUT:-/tmp/relevo-quantize}
dotnet build src/Relevo.Cli -c Release -v q -nologo > /dev/null
relevo() { dotnet src/Relevo.Cli/bin/Release/net10.0/relevo.dll "$@"; }
mkdir -p "$OUT/runs"
[ -f "$OUT/scifact/manifest.json" ] || relevo index --dataset scifact --index "$OUT/scifact"
for model in $MODELS; do
  for choice in uniform lrp random; do
    relevo quantize --model "$model" --out "$OUT/models/$model-$choice" --choice "$choice" --budget "$BUDGET" \
      --dataset scifact --calibration 64 --name "$model-$choice" | tail -1
  done
  for variant in "$model" "$OUT/models/$model-uniform" "$OUT/models/$model-lrp" "$OUT/models/$model-random"; do
    relevo dense --index "$OUT/scifact" --model "$variant" --hnsw-m 0 | tail -1
    name=$(basename "$variant")
    echo "== $name"
    relevo run --index "$OUT/scifact" --dataset scifact --pipeline "dense(model=$variant,exact=true)" --k 1000 \
      --output "$OUT/runs/scifact.$name.trec" --eval | tail -3
  done
done
