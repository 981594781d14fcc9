#!/usr/bin/env python3
"""Independent reference implementation of trec_eval 9.x measure definitions (stdlib only).

Written from the definitions, not from Relevo's code, to cross-check Relevo's Evaluator:

  python3 trec_oracle.py QRELS RUN MEASURES [--rel-level N] [--all-queries]

QRELS: TREC (qid iter docid grade) or BEIR tsv (query-id corpus-id score, with header).
RUN:   TREC run (qid Q0 docid rank score tag).
MEASURES: comma separated trec_eval names: ndcg_cut_K ndcg map map_cut_K recall_K P_K recip_rank
          recip_rank_cut_K success_K bpref num_rel_ret judged_K
Prints "measure<TAB>qid<TAB>value" per query (qrels order) and "measure<TAB>all<TAB>value", values as repr().
"""
import math
import sys
from functools import cmp_to_key


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0].lower() == "query-id":
                continue
            if len(parts) == 4:
                qid, _, doc, grade = parts
            elif len(parts) == 3:
                qid, doc, grade = parts
            else:
                raise SystemExit("bad qrels line: " + line)
            qrels.setdefault(qid, {})[doc] = int(float(grade))
    return qrels


def read_run(path):
    run = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            qid, _, doc, _, score, _ = parts
            run.setdefault(qid, []).append((doc, float(score)))
    return run


def trec_order(docs):
    """Score descending; equal scores: document id descending in byte (strcmp) order."""
    def cmp(a, b):
        if a[1] != b[1]:
            return -1 if a[1] > b[1] else 1
        ka, kb = a[0].encode("utf-8"), b[0].encode("utf-8")
        return (ka < kb) - (ka > kb)
    return [d for d, _ in sorted(docs, key=cmp_to_key(cmp))]


def measure_value(name, ranked, judged, rel_level):
    """ranked: doc ids in trec order; judged: doc -> grade for this query."""
    relevant = {d for d, g in judged.items() if g >= rel_level}
    nonrelevant = {d for d, g in judged.items() if 0 <= g < rel_level}
    R = len(relevant)
    is_rel = [d in relevant for d in ranked]

    def cutoff():
        return int(name.rsplit("_", 1)[1])

    def dcg(gains):
        return sum(g / math.log2(i + 2) for i, g in enumerate(gains) if g > 0)

    if name == "ndcg" or name.startswith("ndcg_cut_"):
        k = len(ranked) if name == "ndcg" else cutoff()
        gains = [max(judged.get(d, 0), 0) for d in ranked[:k]]
        ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
        idcg = dcg(ideal)
        return dcg(gains) / idcg if idcg > 0 else 0.0
    if name == "map" or name.startswith("map_cut_"):
        k = len(ranked) if name == "map" else cutoff()
        if R == 0:
            return 0.0
        hits, total = 0, 0.0
        for i, r in enumerate(is_rel[:k]):
            if r:
                hits += 1
                total += hits / (i + 1)
        return total / R
    if name.startswith("recall_"):
        return sum(is_rel[:cutoff()]) / R if R else 0.0
    if name.startswith("P_"):
        return sum(is_rel[:cutoff()]) / cutoff()
    if name == "recip_rank" or name.startswith("recip_rank_cut_"):
        k = len(ranked) if name == "recip_rank" else cutoff()
        for i, r in enumerate(is_rel[:k]):
            if r:
                return 1.0 / (i + 1)
        return 0.0
    if name.startswith("success_"):
        return 1.0 if any(is_rel[:cutoff()]) else 0.0
    if name == "bpref":
        if R == 0:
            return 0.0
        denom = min(len(nonrelevant), R)
        nonrel_above, total = 0, 0.0
        for d in ranked:
            if d in relevant:
                total += 1.0 - (min(nonrel_above, R) / denom if nonrel_above else 0.0)
            elif d in nonrelevant:
                nonrel_above += 1
        return total / R
    if name == "num_rel_ret":
        return float(sum(is_rel))
    if name.startswith("judged_"):
        top = ranked[:cutoff()]
        if not top:
            return 0.0
        return sum(1 for d in top if d in judged and judged[d] >= 0) / len(top)
    raise SystemExit("unknown measure " + name)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    rel_level = 1
    all_queries = "--all-queries" in argv
    for i, a in enumerate(argv):
        if a == "--rel-level":
            rel_level = int(argv[i + 1])
            args.remove(argv[i + 1])
    qrels_path, run_path, measures = args[0], args[1], args[2].split(",")
    qrels, run = read_qrels(qrels_path), read_run(run_path)
    qids = sorted((q for q in qrels if all_queries or q in run), key=lambda q: q.encode("utf-8"))
    ranked_by_query = {q: trec_order(run.get(q, [])) for q in qids}
    out = []
    for m in measures:
        values = []
        for q in qids:
            v = measure_value(m, ranked_by_query[q], qrels[q], rel_level)
            values.append(v)
            out.append("%s\t%s\t%r" % (m, q, v))
        agg = sum(values) if m == "num_rel_ret" else (sum(values) / len(values) if values else 0.0)
        out.append("%s\tall\t%r" % (m, agg))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
