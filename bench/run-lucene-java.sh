#!/bin/sh
# Builds and runs the Java Lucene 8 side of the engine benchmark against Debian's liblucene8-java
# (apt-get install -y liblucene8-java openjdk-17-jdk-headless).
# Usage: bench/run-lucene-java.sh CORPUS_DIR INDEX_DIR K1 B THREADS RUN_OUT [ROUNDS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
jars=""
for j in lucene-core lucene-analyzers-common; do
  f=$(ls /usr/share/java/$j-8*.jar 2>/dev/null | head -n 1 || true)
  [ -n "$f" ] || { echo "missing /usr/share/java/$j-8*.jar: apt-get install -y liblucene8-java" >&2; exit 2; }
  jars="$jars:$f"
done
cp="${jars#:}"
out=${TMPDIR:-/tmp}/relevo-lucene-bench-classes
mkdir -p "$out"
javac -nowarn -d "$out" -cp "$cp" "$here/java/LuceneBench.java"
exec java -Xms2g -Xmx4g -XX:+UseParallelGC -cp "$out:$cp" LuceneBench "$@"
