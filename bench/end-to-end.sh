#!/usr/bin/env bash
# End-to-end speed of three engines run the way a user runs them, one OS process per run: Relevo's CLI
# (`relevo run`), a minimal Lucene.NET 4.8 run program (`Relevo.Bench.dll lucenenet-run`) and a minimal Java Lucene 8
# run program (`LuceneBench run`, bench/java). Each reads a queries.jsonl, searches an index already built and merged
# to one segment (BM25 k1 0.9, b 0.4, EnglishAnalyzer, one field "title text" with docs and freqs), and writes a TREC
# run file (qid Q0 docid rank score tag), one thread.
#
# Per engine and k: wall time of the command over the first N queries minus wall time of the same command over the
# first 20 (start-up, JIT and index opening cancel out), divided by N - 20 = the cost per query as a user pays it,
# including analysis, search, the document-id lookup and writing the run file. Every command runs --reps times (the
# engines take turns within a repetition, and the engine that goes first rotates); the best wall time of each
# command counts. Then checks that the three engines' run files hold the same top 10 (same documents, same order)
# for at least --min-agreement of the queries (exit status 3 otherwise).
#
# Usage:
#   bench/end-to-end.sh --corpus DIR --work DIR [--queries 6000] [--k "10 1000"] [--reps 3] [--java true]
#                       [--reuse true] [--head 20] [--k1 0.9 --b 0.4] [--run-timeout 3600] [--index-timeout 7200]
#                       [--max-minutes 300] [--min-agreement 0.99] [--impacts true] [--lucenenet false]
#   --corpus   a BEIR-layout folder (corpus.jsonl[.gz], queries.jsonl), e.g. from
#              ../shared/tools/make-bench-corpus /tmp/bench1m --docs 1000000 --queries 6000 --seed 7
#   --work     indexes, binaries, query files and run files go into folders named e2e-* under it; the script records
#              the folders it creates in WORK/.end-to-end-owned and deletes (to rebuild) only those. It refuses to
#              use an e2e-* folder it did not create.
#   --reuse true  keeps the three indexes when a previous run of this script built them from the same corpus file.
#   Every process runs under `timeout`: at most --run-timeout seconds per search run, --index-timeout per index
#   build, and never past --max-minutes from the start (the script then stops with exit status 4), so it always ends.
#   --lucenenet false, --java false  leave those engines out (e.g. Relevo against itself at k = 1000, where the Lucene
#              programs take minutes per run).
#   --impacts true  adds a fourth run: Relevo's `bm25` over a copy of its index (hard links) that also holds quantized
#              8-bit BM25 impacts (`relevo index --index DIR --impacts bm25`); its top 10 is compared with exact
#              Relevo's and reported apart (quantization may reorder near-ties), not counted in the agreement check.
#   Needs dotnet (SDK 10), and for Java: javac/java 17 and `apt-get install -y liblucene8-java`.
set -euo pipefail
export LC_ALL=C DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
here=$(cd "$(dirname "$0")/.." && pwd)

corpus="" work="" nq=6000 ks="10 1000" reps=3 java=true lucenenet=true reuse=false head_n=20 k1=0.9 b=0.4 impacts=false
run_timeout=3600 index_timeout=7200 max_minutes=300 min_agreement=0.99
java_opts=(-Xms2g -Xmx4g -XX:+UseParallelGC) # as bench/run-lucene-java.sh
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || { echo "option $1 needs a value" >&2; usage; }
  case "$1" in
    --corpus) corpus=$2 ;;
    --work) work=$2 ;;
    --queries) nq=$2 ;;
    --k) ks=$2 ;;
    --reps) reps=$2 ;;
    --java) java=$2 ;;
    --lucenenet) lucenenet=$2 ;;
    --reuse) reuse=$2 ;;
    --head) head_n=$2 ;;
    --k1) k1=$2 ;;
    --b) b=$2 ;;
    --run-timeout) run_timeout=$2 ;;
    --index-timeout) index_timeout=$2 ;;
    --max-minutes) max_minutes=$2 ;;
    --min-agreement) min_agreement=$2 ;;
    --impacts) impacts=$2 ;;
    *) echo "unknown option $1" >&2; usage ;;
  esac
  shift 2
done
[[ -n $corpus && -n $work ]] || usage
[[ $java == true || $java == false ]] || { echo "--java true|false" >&2; exit 2; }
[[ $lucenenet == true || $lucenenet == false ]] || { echo "--lucenenet true|false" >&2; exit 2; }
[[ $reuse == true || $reuse == false ]] || { echo "--reuse true|false" >&2; exit 2; }
[[ $impacts == true || $impacts == false ]] || { echo "--impacts true|false" >&2; exit 2; }
for v in "$nq" "$reps" "$head_n" "$run_timeout" "$index_timeout" "$max_minutes" $ks; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive integer, got '$v'" >&2; exit 2; }
done
corpus=$(cd "$corpus" && pwd)
corpus_file=$corpus/corpus.jsonl
[[ -f $corpus_file ]] || corpus_file=$corpus/corpus.jsonl.gz
[[ -f $corpus_file ]] || { echo "$corpus: no corpus.jsonl[.gz]" >&2; exit 2; }
[[ -f $corpus/queries.jsonl ]] || { echo "$corpus: no queries.jsonl" >&2; exit 2; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
deadline=$((EPOCHSECONDS + max_minutes * 60))
# limit SECONDS: a command's time limit, SECONDS or less so that nothing runs past --max-minutes
limit() {
  local left=$((deadline - EPOCHSECONDS))
  ((left > 0)) || { echo "stopping: --max-minutes $max_minutes reached" >&2; exit 4; }
  echo $((left < $1 ? left : $1))
}

# ---------------------------------------------------------------- folders this script owns under --work
owned_list=$work/.end-to-end-owned
touch "$owned_list"
is_owned() { grep -qxF "$1" "$owned_list"; }
# claim NAME: WORK/NAME becomes this script's (refused when it exists and is someone else's)
claim() {
  if [[ -e $work/$1 ]] && ! is_owned "$1"; then
    echo "$work/$1 exists and was not created by bench/end-to-end.sh; move it away or choose another --work" >&2
    exit 2
  fi
  is_owned "$1" || echo "$1" >>"$owned_list"
}
# fresh NAME: an empty WORK/NAME (an old one of ours is deleted first)
fresh() {
  claim "$1"
  rm -rf -- "${work:?}/$1"
  mkdir -p "$work/$1"
}

engines=(relevo)
[[ $lucenenet == true ]] && engines+=(lucenenet)
[[ $java == true ]] && engines+=(java)
[[ $impacts == true ]] && engines+=(impacts)
# refuse before any work when a folder this script would use is someone else's
for name in e2e-bin e2e-logs e2e-queries e2e-runs "${engines[@]/#/e2e-index-}"; do
  if [[ -e $work/$name ]] && ! is_owned "$name"; then
    echo "$work/$name exists and was not created by bench/end-to-end.sh; move it away or choose another --work" >&2
    exit 2
  fi
done
declare -A label=([relevo]="Relevo" [lucenenet]="Lucene.NET 4.8" [java]="Java Lucene 8" [impacts]="Relevo, 8-bit impacts")

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "end-to-end: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -sr), load average at start: $(loadavg)"
echo "corpus $corpus_file, work $work, k: $ks, reps $reps, BM25 k1 $k1 b $b, engines: ${engines[*]}"

# ---------------------------------------------------------------- build once, outside timing
bin=$work/e2e-bin
fresh e2e-bin
echo "building the Release CLI and harness into $bin ..."
timeout -k 10 "$(limit 1800)" dotnet build "$here/src/Relevo.Cli/Relevo.Cli.csproj" -c Release -o "$bin/cli" -nologo -v quiet >"$bin/cli.build.log" 2>&1 \
  || { tail -n 30 "$bin/cli.build.log" >&2; echo "build of src/Relevo.Cli failed (log: $bin/cli.build.log)" >&2; exit 1; }
timeout -k 10 "$(limit 1800)" dotnet build "$here/bench/Relevo.Bench/Relevo.Bench.csproj" -c Release -o "$bin/bench" -nologo -v quiet >"$bin/bench.build.log" 2>&1 \
  || { tail -n 30 "$bin/bench.build.log" >&2; echo "build of bench/Relevo.Bench failed (log: $bin/bench.build.log)" >&2; exit 1; }
relevo_dll=$bin/cli/relevo.dll
bench_dll=$bin/bench/Relevo.Bench.dll
echo "dotnet $(dotnet --version)"
java_cp="" java_jars=""
if [[ $java == true ]]; then
  for j in lucene-core lucene-analyzers-common; do
    jars=(/usr/share/java/"$j"-8*.jar)
    [[ -f ${jars[0]} ]] || { echo "missing /usr/share/java/$j-8*.jar: apt-get install -y liblucene8-java (or --java false)" >&2; exit 2; }
    java_cp="$java_cp:${jars[0]}"
    java_jars+=" $(basename "${jars[0]}")"
  done
  mkdir -p "$bin/java"
  javac -nowarn -d "$bin/java" -cp "${java_cp#:}" "$here/bench/java/LuceneBench.java"
  java_cp="$bin/java$java_cp"
  echo "$(java -version 2>&1 | head -n 1), jars:$java_jars, java ${java_opts[*]}"
fi

# ---------------------------------------------------------------- the three one-segment indexes
fingerprint="$corpus_file $(stat -c '%s %Y' "$corpus_file")"
logs=$work/e2e-logs
fresh e2e-logs
# index ENGINE: builds WORK/e2e-index-ENGINE unless --reuse true finds the one built from this corpus
index() {
  local e=$1 name=e2e-index-$1 done_file=$work/.e2e-index-$1.done
  local dir=$work/$name
  if [[ $reuse == true && -d $dir ]] && is_owned "$name" && [[ -f $done_file && $(cat "$done_file") == "$fingerprint" ]]; then
    echo "  $e: reusing $dir ($(du -sm "$dir" | cut -f1) MB)"
    return
  fi
  [[ $reuse == true ]] && echo "  $e: no index of this corpus from an earlier run to reuse; building it"
  claim "$name"
  rm -rf -- "$dir" "$done_file"
  local t0=${EPOCHREALTIME/./} rc=0 lim
  lim=$(limit "$index_timeout")
  case $e in
    relevo)
      { timeout -k 10 "$lim" dotnet "$relevo_dll" index --corpus "$corpus_file" --index "$dir" \
          && timeout -k 10 "$lim" dotnet "$relevo_dll" optimize --index "$dir"; } >"$logs/index-$e.log" 2>&1 || rc=$? ;;
    lucenenet)
      timeout -k 10 "$lim" dotnet "$bench_dll" lucenenet-index --corpus "$corpus_file" --index "$dir" --k1 "$k1" --b "$b" \
        >"$logs/index-$e.log" 2>&1 || rc=$? ;;
    java)
      timeout -k 10 "$lim" java "${java_opts[@]}" -cp "$java_cp" LuceneBench index "$corpus" "$dir" "$k1" "$b" \
        >"$logs/index-$e.log" 2>&1 || rc=$? ;;
    impacts) # Relevo's index (hard links: its files never change) plus the impact files
      { cp -al "$work/e2e-index-relevo" "$dir" && rm -f "$dir/write.lock" \
          && timeout -k 10 "$lim" dotnet "$relevo_dll" index --index "$dir" --impacts bm25; } >"$logs/index-$e.log" 2>&1 || rc=$? ;;
  esac
  if [[ $rc != 0 ]]; then
    tail -n 20 "$logs/index-$e.log" >&2
    echo "indexing with $e failed (exit $rc; 124 = stopped after $lim s: --index-timeout or --max-minutes)" >&2
    exit 1
  fi
  echo "$fingerprint" >"$done_file"
  local t1=${EPOCHREALTIME/./}
  echo "  $e: indexed into $dir in $(((t1 - t0) / 1000000)) s ($(du -sm "$dir" | cut -f1) MB): $(tail -n 1 "$logs/index-$e.log")"
}
echo "indexes:"
for e in "${engines[@]}"; do index "$e"; done

# ---------------------------------------------------------------- query files: the first N and the first --head
qdir=$work/e2e-queries
fresh e2e-queries
grep -v '^[[:space:]]*$' "$corpus/queries.jsonl" | head -n "$nq" >"$qdir/full.jsonl" || true
n_full=$(wc -l <"$qdir/full.jsonl")
if ((n_full < nq)); then echo "note: $corpus/queries.jsonl has $n_full queries, not $nq; using all of them"; fi
((n_full > head_n)) || { echo "need more than --head $head_n queries (have $n_full)" >&2; exit 2; }
head -n "$head_n" "$qdir/full.jsonl" >"$qdir/head.jsonl"

# ---------------------------------------------------------------- timed runs
runs=$work/e2e-runs
fresh e2e-runs
# cmd ENGINE K QUERIES OUT: the command line of one run (sets the array `cmd`)
cmd_for() {
  local e=$1 k=$2 q=$3 out=$4
  case $e in
    relevo) cmd=(dotnet "$relevo_dll" run --index "$work/e2e-index-relevo" --queries "$q" --pipeline "bm25(k1=$k1,b=$b)"
                 -k "$k" --output "$out" --threads 1 --tag relevo) ;;
    lucenenet) cmd=(dotnet "$bench_dll" lucenenet-run --index "$work/e2e-index-lucenenet" --queries "$q" --k "$k"
                    --output "$out" --k1 "$k1" --b "$b") ;;
    java) cmd=(java "${java_opts[@]}" -cp "$java_cp" LuceneBench run "$work/e2e-index-java" "$q" "$k" "$out" "$k1" "$b" lucene8) ;;
    impacts) cmd=(dotnet "$relevo_dll" run --index "$work/e2e-index-impacts" --queries "$q" --pipeline "bm25(k1=$k1,b=$b)"
                  -k "$k" --output "$out" --threads 1 --tag relevo) ;;
  esac
}
# timed ENGINE K WHICH(full|head): runs it once, prints the wall time in microseconds
timed() {
  local e=$1 k=$2 which=$3 rc=0 lim
  lim=$(limit "$run_timeout")
  cmd_for "$e" "$k" "$qdir/$which.jsonl" "$runs/$e.k$k.$which.trec"
  local t0=${EPOCHREALTIME/./}
  timeout -k 10 "$lim" "${cmd[@]}" >"$logs/run-$e-k$k-$which.log" 2>&1 || rc=$?
  local t1=${EPOCHREALTIME/./}
  if [[ $rc != 0 ]]; then
    tail -n 20 "$logs/run-$e-k$k-$which.log" >&2
    echo "$e run (k $k, $which) failed (exit $rc; 124 = stopped after $lim s: --run-timeout or --max-minutes): ${cmd[*]}" >&2
    exit 1
  fi
  echo $((t1 - t0))
}

# the index files and binaries into the page cache, so no engine pays for the disk
for e in "${engines[@]}"; do find "$work/e2e-index-$e" -type f -exec cat {} + >/dev/null; done
declare -A best_full best_head
n_eng=${#engines[@]}
for ((r = 0; r < reps; r++)); do
  for k in $ks; do
    for ((i = 0; i < n_eng; i++)); do
      e=${engines[$(((i + r) % n_eng))]}
      th=$(timed "$e" "$k" head)
      tf=$(timed "$e" "$k" full)
      key=$e.$k
      if [[ -z ${best_head[$key]:-} ]] || ((th < best_head[$key])); then best_head[$key]=$th; fi
      if [[ -z ${best_full[$key]:-} ]] || ((tf < best_full[$key])); then best_full[$key]=$tf; fi
      printf '  rep %d, k %4d, %-10s %d queries %8.3f s, %d queries %7.3f s\n' $((r + 1)) "$k" "$e" "$n_full" \
        "$(awk -v t="$tf" 'BEGIN { print t / 1e6 }')" "$head_n" "$(awk -v t="$th" 'BEGIN { print t / 1e6 }')"
    done
  done
done

# ---------------------------------------------------------------- report
echo
echo "per-query cost = (best wall time over $n_full queries - best over the first $head_n) / $((n_full - head_n)), best of $reps"
echo
echo "| engine | k | $n_full queries (s) | first $head_n (s) | ms/query | run lines |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
declare -A msq
for k in $ks; do
  for e in "${engines[@]}"; do
    key=$e.$k
    msq[$key]=$(awk -v f="${best_full[$key]}" -v h="${best_head[$key]}" -v n=$((n_full - head_n)) 'BEGIN { printf "%.4f", (f - h) / 1000 / n }')
    awk -v l="${label[$e]}" -v k="$k" -v f="${best_full[$key]}" -v h="${best_head[$key]}" -v m="${msq[$key]}" \
      -v lines="$(wc -l <"$runs/$e.k$k.full.trec")" 'BEGIN { printf "| %s | %d | %.3f | %.3f | %s | %d |\n", l, k, f / 1e6, h / 1e6, m, lines }'
  done
done
for k in $ks; do
  for e in "${engines[@]}"; do
    key=$e.$k
    if ((best_full[$key] - best_head[$key] < 1000000)); then
      echo "note: ${label[$e]} at k = $k: $n_full queries took less than 1 s longer than $head_n, so start-up noise weighs on its figure; use more --queries"
    fi
  done
done
echo
for k in $ks; do
  line="ratios at k = $k:"
  for e in "${engines[@]}"; do
    [[ $e == relevo ]] && continue
    line+=$(awk -v l="${label[$e]}" -v o="${msq[$e.$k]}" -v r="${msq[relevo.$k]}" \
      'BEGIN { if (r > 0) printf " %s / Relevo %.2f×;", l, o / r; else printf " %s / Relevo n/a (Relevo <= 0);", l }')
  done
  echo "${line%;}"
done

# ---------------------------------------------------------------- same work? top 10 of every query, all engines
echo
status=0
checked=()
for e in "${engines[@]}"; do [[ $e == impacts ]] || checked+=("$e"); done
n_eng=${#checked[@]}
for k in $ks; do
  files=()
  for e in "${checked[@]}"; do files+=("$runs/$e.k$k.full.trec"); done
  result=$(awk -v n="$n_eng" -v min="$min_agreement" '
    BEGIN { for (i = 1; i < ARGC; i++) file[ARGV[i]] = i }
    $4 <= 10 { f = file[FILENAME]; d[f, $1, $4] = $3; if (!($1 in seen)) { seen[$1] = 1; q[++nq] = $1 } }
    END {
      all = 0
      for (i = 1; i <= nq; i++) {
        id = q[i]; ref = ""
        for (r = 1; r <= 10; r++) ref = ref " " d[1, id, r]
        same = 1
        for (e = 2; e <= n; e++) {
          l = ""
          for (r = 1; r <= 10; r++) l = l " " d[e, id, r]
          if (l == ref) agree[e]++; else same = 0
        }
        all += same
      }
      s = ""
      for (e = 2; e <= n; e++) s = s sprintf(" engine%d=%d", e, agree[e])
      printf "%d %d %d%s\n", nq, all, (nq > 0 && all >= min * nq) ? 0 : 1, s
    }' "${files[@]}")
  read -r nqa all bad rest <<<"$result"
  detail=""
  for ((i = 1; i < n_eng; i++)); do
    c=$(tr ' ' '\n' <<<"$rest" | sed -n "s/^engine$((i + 1))=//p")
    detail+=", ${label[${checked[$i]}]} = Relevo for $c"
  done
  echo "top-10 agreement, k = $k runs: all engines the same documents in the same order for $all/$nqa queries$detail$([[ $bad == 1 ]] && echo " -- BELOW $min_agreement")"
  [[ $bad == 0 ]] || status=3
  if [[ $impacts == true ]]; then
    same=$(awk '$4 <= 10 { k = $1 SUBSEP $4; if (FILENAME == ARGV[1]) a[k] = $3; else b[k] = $3; q[$1] = 1 }
      END { n = 0; s = 0; for (id in q) { n++; ok = 1; for (r = 1; r <= 10; r++) if (a[id, r] != b[id, r]) ok = 0; s += ok }; print s "/" n }' \
      "$runs/relevo.k$k.full.trec" "$runs/impacts.k$k.full.trec")
    echo "  8-bit impacts, k = $k runs: the same top 10 as exact Relevo for $same queries (not part of the check: quantization reorders near-ties)"
  fi
done
echo
echo "load average at end: $(loadavg)"
exit $status
