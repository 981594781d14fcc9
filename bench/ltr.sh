#!/usr/bin/env bash
# Learning to rank, measured (docs/results/ltr.md): for each collection, 5-fold cross-validation of LambdaMART (LightGBM
# and FastTree) and of
# coordinate ascent over the same features, reranking the top 100 of fuse(minmax, bm25, dense(model=arctic-xs));
# then transfer: a model trained on all queries of one collection applied to each other one.
# usage: bench/ltr.sh [WORK]   (indexes with arctic-xs and minilm vectors are built under WORK, default /tmp/relevo-ltr)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/relevo-ltr}
DATA=${RELEVO_DATA:-../shared/datasets}
dotnet build src/Relevo.Cli -c Release -v q -nologo > /dev/null
R="dotnet src/Relevo.Cli/bin/Release/net10.0/relevo.dll"
FIRST='fuse(minmax, bm25, dense(model=arctic-xs))'
FEATURES='features(bm25, ql, dense(model=arctic-xs), dense(model=minilm), bm25>>rm3>>bm25, rank, score, doclen, qlen, title, bm25.title, bm25.text, rerank(dense(model=minilm),passages=3), rerank(dense(model=arctic-xs),passages=3), dense(model=arctic-xs)>>vprf>>dense(model=arctic-xs), dense(model=minilm)>>vprf(model=minilm)>>dense(model=minilm), rerank(dense(model=minilm),passages=1))'
SETS="scifact vaswani cranfield cacm"
mkdir -p "$WORK"
for d in $SETS; do
  if [ ! -f "$WORK/$d/manifest" ]; then $R index --dataset "$DATA/$d" --index "$WORK/$d" --dense arctic-xs; fi
  $R dense --index "$WORK/$d" --model minilm > /dev/null   # embeds only segments that lack minilm vectors
done
for d in $SETS; do
  for learner in lambdamart fasttree linear auto; do
    echo "== $d, $learner, 5-fold cross-validation"
    $R train --dataset "$DATA/$d" --index "$WORK/$d" --pipeline "$FIRST >> $FEATURES" --learner $learner --folds 5 \
      --output "$WORK/models/$d.$learner" | grep -E "cross-validation|│"
  done
done
for learner in lambdamart linear; do
  for from in $SETS; do
    for to in $SETS; do
      [ "$from" = "$to" ] && continue
      echo "== transfer $learner: trained on $from, applied to $to"
      $R run --dataset "$DATA/$to" --index "$WORK/$to" --pipeline "$FIRST >> $FEATURES >> ltr(model=$WORK/models/$from.$learner)" \
        -k 100 --output "$WORK/$from-$to.$learner.trec" --eval --measures ndcg_cut_10 | grep ndcg_cut_10
    done
  done
done
