using Microsoft.ML.OnnxRuntime;

namespace Relevo.Dense;

/// <summary>How Relevo opens an ONNX model: all graph optimizations, sequential execution on the given threads, and
/// no spinning worker threads (they only steal time from each other when the cores are shared).</summary>
internal static class OnnxSessions
{
    /// <summary>A session over <paramref name="onnx"/> with its options (the caller disposes both); a model ONNX Runtime
    /// cannot load is a <see cref="RelevoException"/> naming the file.</summary>
    /// <param name="prepacked">Shared by sessions over the same model, so that weights ONNX Runtime re-lays-out for its
    /// kernels are held once.</param>
    public static (InferenceSession Session, SessionOptions Options) Open(string onnx, int threads, PrePackedWeightsContainer? prepacked = null)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            return (prepacked is null ? new InferenceSession(onnx, options) : new InferenceSession(onnx, options, prepacked), options);
        }
        catch (OnnxRuntimeException e)
        {
            options.Dispose();
            throw new RelevoException($"{onnx}: ONNX Runtime cannot load the model: {e.Message}");
        }
    }
}
