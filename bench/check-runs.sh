#!/usr/bin/env bash
# Checks that a change leaves every run file byte-identical: builds the `relevo` CLI of a reference commit (default:
# the previous commit) and of the working tree, runs the same pipelines with both over the shared collections
# (an ordinary index and a 4-shard index of each), and compares the TREC run files byte for byte.
#
# Usage: bench/check-runs.sh [--ref REF] [--datasets "adi cacm cranfield scifact vaswani"] [--no-dense] [--threads N]
# Work folder: $RELEVO_CHECK_DIR (default ~/.cache/relevo/check-runs); a reference commit's runs are kept there and
# reused. Dense runs embed each collection with arctic-xs once (cached in the embedding cache; SciFact takes about
# 20 minutes cold on 2 cores). Exit status 0 when every run file is identical, 1 otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ref=HEAD~1
datasets="adi cacm cranfield scifact vaswani"
dense=1
threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ref) ref=$2; shift 2 ;;
    --datasets) datasets=$2; shift 2 ;;
    --no-dense) dense=0; shift ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
work=${RELEVO_CHECK_DIR:-$HOME/.cache/relevo/check-runs}
mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

local_pipelines=("bm25" "ql" "fuse(rrf,bm25,ql)" "bm25>>rm3(terms=10,docs=10,weight=0.5)>>bm25")
sharded_pipelines=("bm25" "ql" "fuse(rrf,bm25,ql)")
if [[ $dense == 1 ]]; then
  local_pipelines+=("dense(model=arctic-xs)")
  sharded_pipelines+=("dense(model=arctic-xs)")
fi

# build SOURCE_DIR OUT_DIR: the Release CLI of a source tree
build() {
  dotnet build "$1/src/Relevo.Cli/Relevo.Cli.csproj" -c Release -o "$2" -v quiet -nologo >"$2.build.log" 2>&1 \
    || { echo "build of $1 failed (see $2.build.log)" >&2; exit 2; }
}

# runs RELEVO_DLL OUT_DIR: every dataset x pipeline, on a fresh index and a fresh 4-shard index
runs() {
  local cli=$1 out=$2 d p name idx
  for d in $datasets; do
    mkdir -p "$out/$d"
    idx="$out/idx/$d"
    rm -rf "$idx" "$idx-4"
    local dense_args=()
    [[ $dense == 1 ]] && dense_args=(--dense arctic-xs)
    dotnet "$cli" index --dataset "$d" --index "$idx" "${dense_args[@]}" >"$out/$d/index.log" 2>&1
    dotnet "$cli" index --dataset "$d" --index "$idx-4" --shards 4 "${dense_args[@]}" >"$out/$d/index-4.log" 2>&1
    for p in "${local_pipelines[@]}"; do
      name=$(printf '%s' "$p" | tr -c 'a-zA-Z0-9=.,\n' '_')
      dotnet "$cli" run --dataset "$d" --index "$idx" --pipeline "$p" -k 1000 --threads "$threads" --output "$out/$d/$name.trec" >/dev/null
    done
    for p in "${sharded_pipelines[@]}"; do
      name=$(printf '%s' "$p" | tr -c 'a-zA-Z0-9=.,\n' '_')
      dotnet "$cli" run --dataset "$d" --index "$idx-4" --pipeline "$p" -k 1000 --threads "$threads" --output "$out/$d/shards4.$name.trec" >/dev/null
    done
    rm -rf "$idx" "$idx-4"
    echo "  $d done"
  done
}

base=$(git -C "$here" rev-parse "$ref")
base_runs="$work/runs-$base"
if [[ ! -f "$base_runs/.complete" || $(cat "$base_runs/.complete") != "$datasets $dense" ]]; then
  echo "reference $base: building and running"
  rm -rf "$work/src-$base" "$base_runs"
  git -C "$here" worktree prune
  git -C "$here" worktree add --detach "$work/src-$base" "$base" >/dev/null
  build "$work/src-$base" "$work/bin-$base"
  git -C "$here" worktree remove --force "$work/src-$base"
  runs "$work/bin-$base/relevo.dll" "$base_runs"
  echo "$datasets $dense" >"$base_runs/.complete"
else
  echo "reference $base: runs already in $base_runs"
fi

echo "working tree: building and running"
rm -rf "$work/runs-current"
build "$here" "$work/bin-current"
runs "$work/bin-current/relevo.dll" "$work/runs-current"

same=0 differ=0
while IFS= read -r f; do
  rel=${f#"$base_runs/"}
  if cmp -s "$f" "$work/runs-current/$rel"; then
    same=$((same + 1))
  else
    differ=$((differ + 1))
    echo "DIFFERS: $rel"
  fi
done < <(find "$base_runs" -name '*.trec' | sort)
echo "run files: $same identical, $differ different (reference $base)"
[[ $differ == 0 ]]
