using System.Globalization;

namespace Relevo.Evaluation;

/// <summary>The kinds of measure the evaluator computes.</summary>
internal enum MeasureKind
{
    /// <summary><c>ndcg_cut_K</c>, nDCG@K: gain = grade, log2(rank+1) discount, ideal from all judged grades.</summary>
    NdcgCut,
    /// <summary><c>ndcg</c>: untruncated nDCG over the whole ranking.</summary>
    Ndcg,
    /// <summary><c>map</c>, AP.</summary>
    Map,
    /// <summary><c>map_cut_K</c>, AP@K (divided by the number of relevant documents, as trec_eval does).</summary>
    MapCut,
    /// <summary><c>recall_K</c>, R@K.</summary>
    Recall,
    /// <summary><c>P_K</c>, P@K (divided by K even past the end of the list).</summary>
    Precision,
    /// <summary><c>recip_rank</c>, RR.</summary>
    RecipRank,
    /// <summary><c>recip_rank_cut_K</c>, RR@K (0 when the first relevant document is below rank K).</summary>
    RecipRankCut,
    /// <summary><c>success_K</c>, 1 when a relevant document is in the top K.</summary>
    Success,
    /// <summary><c>bpref</c> as trec_eval 9.x defines it.</summary>
    Bpref,
    /// <summary><c>num_rel_ret</c>: relevant documents retrieved (summed, not averaged, over queries).</summary>
    NumRelRet,
    /// <summary><c>num_ret</c>: documents retrieved (summed over queries).</summary>
    NumRet,
    /// <summary><c>num_rel</c>: relevant documents judged (summed over queries).</summary>
    NumRel,
    /// <summary><c>Rprec</c>: precision at rank R, R = number of relevant documents.</summary>
    RPrec,
    /// <summary><c>judged_K</c>, Judged@K: share of the top min(K, retrieved) documents that have a judgment.</summary>
    Judged,
}

/// <summary>One measure with its cutoff, named canonically the way trec_eval prints it (e.g. <c>ndcg_cut_10</c>).</summary>
internal readonly record struct Measure(MeasureKind Kind, int Cutoff)
{
    /// <summary>The canonical (trec_eval) name.</summary>
    public string Name => Kind switch
    {
        MeasureKind.NdcgCut => "ndcg_cut_" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Ndcg => "ndcg",
        MeasureKind.Map => "map",
        MeasureKind.MapCut => "map_cut_" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Recall => "recall_" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Precision => "P_" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.RecipRank => "recip_rank",
        MeasureKind.RecipRankCut => "recip_rank_cut_" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Success => "success_" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Bpref => "bpref",
        MeasureKind.NumRelRet => "num_rel_ret",
        MeasureKind.NumRet => "num_ret",
        MeasureKind.NumRel => "num_rel",
        MeasureKind.RPrec => "Rprec",
        MeasureKind.Judged => "judged_" + Cutoff.ToString(CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>The common short name (nDCG@10, AP, R@100, P@10, RR, RR@10, Success@5, Judged@10, ...).</summary>
    public string ShortName => Kind switch
    {
        MeasureKind.NdcgCut => "nDCG@" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Ndcg => "nDCG",
        MeasureKind.Map => "AP",
        MeasureKind.MapCut => "AP@" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Recall => "R@" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Precision => "P@" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.RecipRank => "RR",
        MeasureKind.RecipRankCut => "RR@" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Success => "Success@" + Cutoff.ToString(CultureInfo.InvariantCulture),
        MeasureKind.Bpref => "Bpref",
        MeasureKind.NumRelRet => "NumRelRet",
        MeasureKind.NumRet => "NumRet",
        MeasureKind.NumRel => "NumRel",
        MeasureKind.RPrec => "Rprec",
        MeasureKind.Judged => "Judged@" + Cutoff.ToString(CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>True for counts that trec_eval sums rather than averages over queries.</summary>
    public bool IsCount => Kind is MeasureKind.NumRelRet or MeasureKind.NumRet or MeasureKind.NumRel;

    public override string ToString() => Name;

    /// <summary>Parses a trec_eval name (<c>ndcg_cut_10</c>, also <c>ndcg_cut.10</c>), or a short name
    /// (<c>nDCG@10</c>, <c>AP</c>, <c>R@100</c>, <c>P@5</c>, <c>RR@10</c>, <c>Success@1</c>, <c>Judged@10</c>),
    /// case-insensitively. Throws <see cref="RelevoException"/> naming the measure otherwise.</summary>
    public static Measure Parse(string name)
    {
        if (TryParse(name, out var m)) return m;
        throw new RelevoException(
            $"unknown measure '{name}'; known: ndcg_cut_K (nDCG@K), ndcg, map (AP), map_cut_K (AP@K), recall_K (R@K), " +
            "P_K (P@K), recip_rank (RR), recip_rank_cut_K (RR@K), success_K (Success@K), bpref, num_rel_ret, num_ret, " +
            "num_rel, Rprec, judged_K (Judged@K); K is a positive integer");
    }

    public static bool TryParse(string name, out Measure measure)
    {
        measure = default;
        if (string.IsNullOrWhiteSpace(name)) return false;
        string s = name.Trim().ToLowerInvariant();
        string head = s;
        int k = 0;
        int at = s.IndexOf('@');
        if (at < 0) at = s.IndexOf('.');
        if (at >= 0)
        {
            if (!TryCutoff(s[(at + 1)..], out k)) return false;
            head = s[..at];
        }
        else
        {
            int us = s.LastIndexOf('_');
            if (us > 0 && TryCutoff(s[(us + 1)..], out int k2))
            {
                head = s[..us];
                k = k2;
            }
        }
        MeasureKind? kind = (head, k > 0) switch
        {
            ("ndcg_cut" or "ndcg", true) => MeasureKind.NdcgCut,
            ("ndcg", false) => MeasureKind.Ndcg,
            ("map" or "ap", false) => MeasureKind.Map,
            ("map_cut" or "map" or "ap", true) => MeasureKind.MapCut,
            ("recall" or "r", true) => MeasureKind.Recall,
            ("p", true) => MeasureKind.Precision,
            ("recip_rank" or "rr" or "mrr", false) => MeasureKind.RecipRank,
            ("recip_rank_cut" or "recip_rank" or "rr" or "mrr", true) => MeasureKind.RecipRankCut,
            ("success", true) => MeasureKind.Success,
            ("bpref", false) => MeasureKind.Bpref,
            ("num_rel_ret" or "numrelret", false) => MeasureKind.NumRelRet,
            ("num_ret" or "numret", false) => MeasureKind.NumRet,
            ("num_rel" or "numrel", false) => MeasureKind.NumRel,
            ("rprec", false) => MeasureKind.RPrec,
            ("judged", true) => MeasureKind.Judged,
            _ => null,
        };
        if (kind is null) return false;
        measure = new Measure(kind.Value, k);
        return true;
    }

    private static bool TryCutoff(string s, out int k) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out k) && k > 0;
}
