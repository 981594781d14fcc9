using System.Globalization;
using Relevo.Pipelines;

namespace Relevo.Llm;

/// <summary>LLM relevance for Relevo: the <c>llm.pointwise</c>, <c>llm.listwise</c>, <c>llm.setwise</c> and
/// <c>llm.groupwise</c> rerankers and <c>llm.expand</c> query expansion, calling an OpenAI-compatible chat endpoint.
/// Pass it in <see cref="SearchIndexOptions.Extensions"/> with the client of the endpoint to use (none: the stages
/// parse, and fail when run with a message saying how to give one).</summary>
public sealed class LlmExtension : IRelevoExtension, IDisposable
{
    private readonly LlmClient? _client;
    private readonly bool _owned;

    /// <summary>Stages that call the endpoint at <paramref name="endpoint"/> with <paramref name="model"/>; the caller
    /// disposes the extension when done with the indexes that use it.</summary>
    public LlmExtension(string endpoint, string model) : this(new LlmClient(new LlmSettings(endpoint, model))) => _owned = true;

    /// <summary>Closes the client this extension made (not one it was given).</summary>
    public void Dispose()
    {
        if (_owned) _client?.Dispose();
    }

    /// <summary>Stages that call <paramref name="client"/> (owned by the caller); null: LLM stages fail when run.</summary>
    internal LlmExtension(LlmClient? client) => _client = client;

    /// <inheritdoc/>
    public void Register(ExtensionRegistry registry)
    {
        registry.AddStage("llm.pointwise", "llm.pointwise(top,logprobs,criteria)", s =>
        {
            s.Accept("top", "logprobs", "criteria");
            return new PointwiseStage(Top(s), Criteria(s), s.Bool("logprobs", true));
        });
        registry.AddStage("llm.listwise", "llm.listwise(window,step,first,top,criteria)", s =>
        {
            s.Accept("window", "step", "first", "top", "criteria");
            int window = s.Int("window", 20, 2, 1000), step = s.Int("step", 10, 1, 1000);
            if (step >= window) throw s.Error(s.ColumnOf("step"), "llm.listwise: step must be smaller than window");
            bool first = s.Bool("first", false);
            if (first && window > 20) throw s.Error(s.ColumnOf("window"), "llm.listwise: first=true ranks from the top 20 log-probabilities, so window must be at most 20");
            return new ListwiseStage(Top(s), Criteria(s), window, step, first);
        });
        registry.AddStage("llm.setwise", "llm.setwise(k,m,reasoning,top,criteria)", s =>
        {
            s.Accept("k", "m", "reasoning", "top", "criteria");
            return new SetwiseStage(Top(s), Criteria(s), s.Int("k", 4, 2, 100), s.Int("m", 10, 1, 1000), s.Bool("reasoning", false));
        });
        registry.AddStage("llm.groupwise", "llm.groupwise(group,top,criteria)", s =>
        {
            s.Accept("group", "top", "criteria");
            return new GroupwiseStage(Top(s), Criteria(s), s.Int("group", 10, 1, 1000));
        });
        registry.AddStage("llm.expand", "llm.expand(repeat,prf)", s =>
        {
            s.Accept("repeat", "prf");
            s.NoPositional();
            return new ExpandStage(s.Int("repeat", 5, 0, 100), s.Int("prf", 0, 0, 20));
        });
        if (_client is { } client)
        {
            registry.AddBorrowedService(client);
            registry.AddBorrowedService<IAnswerer>(new LlmAnswerer(client));
            registry.AddBorrowedService<ILatticeJudge>(new LlmLattice(client));
        }
    }

    private static int Top(StageSyntax s) => s.Int("top", 100, 1, RerankStage.MaxTop);

    /// <summary>criteria=[relevance:1,recency:0.3] or criteria=relevance:1,recency:0.3 (the items after the first then
    /// arrive as positional arguments).</summary>
    private static List<Criterion> Criteria(StageSyntax s)
    {
        var items = new List<(string Item, int Column)>();
        if (s.Items("criteria") is { } given) items.AddRange(given);
        for (int i = 0; i < s.PositionalCount; i++)
        {
            if (items.Count == 0 || s.Word(i) is not var (word, column) || !word.Contains(':'))
                throw s.Error(s.PositionalColumn(i), $"{s.Name} takes only named arguments (name=value)");
            items.Add((word, column));
        }
        if (items.Count == 0) return [.. LlmStage.DefaultCriteria];
        var list = new List<Criterion>();
        foreach (var (item, col) in items)
        {
            int colon = item.IndexOf(':');
            string name = colon < 0 ? item : item[..colon];
            double w = 1;
            if (name.Length == 0 || (colon >= 0 && (!double.TryParse(item[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out w) || !double.IsFinite(w) || w < 0 || w > 1e6)))
                throw s.Error(col, $"{s.Name}: criteria are name:weight with a weight ≥ 0, e.g. criteria=relevance:1,recency:0.3");
            if (list.Exists(c => c.Name == name)) throw s.Error(col, $"{s.Name}: criterion '{name}' is given twice");
            list.Add(new Criterion(name, w));
        }
        return list;
    }
}
