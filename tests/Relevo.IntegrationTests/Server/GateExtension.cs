using Relevo.Pipelines;

namespace Relevo.IntegrationTests.Server;

/// <summary>Adds a stage <c>gate</c> (written <c>gate&gt;&gt;bm25</c>) that holds every search running it until the test
/// opens the gate: it keeps one of the server's concurrent places taken for exactly as long as a test needs, on a
/// signal rather than a timer.</summary>
internal sealed class GateExtension : IRelevoExtension
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _entered = new(0);

    public void Register(ExtensionRegistry registry) => registry.AddStage("gate", "gate", s =>
    {
        s.NoPositional();
        return new GateStage(this);
    });

    /// <summary>Waits until one more search has reached the gate (and so holds a place).</summary>
    public async Task WaitForSearchAsync()
    {
        if (!await _entered.WaitAsync(TimeSpan.FromSeconds(60))) throw new TimeoutException("no search reached the gate within 60 s");
    }

    /// <summary>Lets every held search, and every later one, through.</summary>
    public void Open() => _open.TrySetResult();

    private sealed class GateStage(GateExtension gate) : Stage
    {
        public override string Text => "gate";

        public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
        {
            gate._entered.Release();
            await gate._open.Task.WaitAsync(context.Cancellation);
            return state;
        }
    }
}
