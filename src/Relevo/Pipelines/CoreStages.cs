using Relevo.Search;
using Relevo.Search.Similarities;

namespace Relevo.Pipelines;

/// <summary>The stages the core provides: sparse retrievers, fusion, term feedback and the cascade of rerankers.</summary>
internal static class CoreStages
{
    public static void Register(ExtensionRegistry r)
    {
        r.AddStage("bm25", "bm25(k1,b,impacts,fields)", s =>
        {
            s.Accept("k1", "b", "impacts", "fields");
            s.NoPositional();
            List<FieldBoost>? fields = null;
            if (s.Items("fields") is { } items)
            {
                fields = [];
                foreach (var (item, column) in items)
                {
                    FieldBoost field;
                    try { field = FieldBoost.Parse(item); }
                    catch (RelevoException e) { throw s.Error(column, "bm25: fields: " + e.Message); }
                    if (fields.Exists(f => f.Field == field.Field)) throw s.Error(column, $"bm25: fields: '{field.Field}' is given twice");
                    fields.Add(field);
                }
                if (fields.Count == 0) throw s.Error(s.ColumnOf("fields"), "bm25: fields: give at least one field (title, text)");
            }
            return new Bm25Stage(new Bm25Parameters(s.Float("k1", Bm25Scorer.DefaultK1, 0, 100), s.Float("b", Bm25Scorer.DefaultB, 0, 1)),
                s.Bool("impacts", true), fields);
        });
        r.AddComponent(Index.Impacts.ImpactComponent.Instance);
        r.AddComponent(Index.Fields.FieldComponent.Instance);
        r.AddComponent(Index.Positions.PositionsComponent.Instance);
        r.AddComponent(Index.Values.ValuesComponent.Instance);
        r.AddDocumentOperation(ExplainRequest.Operation, (reader, argument, segment, doc) => ExplainRequest.Run(r, reader, argument, segment, doc));
        r.AddDocumentOperation(ScoreRequest.Operation, (reader, argument, segment, doc) => ScoreRequest.Run(r, reader, argument, segment, doc));
        r.AddStage("ql", "ql(mu)", s =>
        {
            s.Accept("mu");
            s.NoPositional();
            return new QueryLikelihoodStage(s.Float("mu", 1000f, 1e-6, 1e9));
        });
        r.AddStage("impact", "impact", s =>
        {
            s.Accept();
            s.NoPositional();
            return new ImpactStage();
        });
        r.AddStage("fuse", "fuse(rrf|borda|combsum|combmnz|minmax|zscore, pipeline, pipeline..., k, alpha, weights, norm, depth)", FuseStage.Build);
        r.AddStage("rm3", "rm3(terms,docs,weight)", Rm3Stage.Build);
        r.AddStage("rocchio", "rocchio(terms,docs,alpha,beta)", RocchioStage.Build);
        r.AddStage("cascade", "cascade(reranker, reranker, top)", CascadeStage.Build);
        r.AddStage("features", "features(bm25, ql, dense(model=M), pipeline >> retriever, rank, score, doclen, qlen, title)", FeaturesStage.Build);
        r.AddStage("ltr", "ltr(model)", LtrStage.Build);
        r.AddStage("filter", "filter(q=\"field:value ...\")", FilterStage.Build);
        r.AddStage("lattice", "lattice(beam,llm,alpha,rounds,anchors)", LatticeStage.Build);
    }
}
