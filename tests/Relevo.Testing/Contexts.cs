using Relevo.Index;
using Relevo.Pipelines;

namespace Relevo.Testing;

/// <summary>Stage contexts for unit tests of stages: a pipeline's view of one local commit.</summary>
internal static class Contexts
{
    /// <summary>A context over one commit of a local index, with the registry's services (the core's by default);
    /// <paramref name="trace"/>: remember each stage's run, so that the search can be explained.</summary>
    public static StageContext Local(IndexReader reader, ExtensionRegistry? registry = null, bool trace = false)
    {
        registry ??= ExtensionRegistry.Core;
        return new StageContext(new LocalTarget(reader, registry), registry.CreateServices(), default, trace);
    }
}
