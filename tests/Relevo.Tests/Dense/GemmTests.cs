using Relevo.Dense;

namespace Relevo.Tests.Dense;

/// <summary>The encoder's matrix products (and its softmax) against a plain loop in double: shapes that fill whole 6-row blocks
/// and whole panels, and shapes that leave rows, a partial panel or a few columns over. The same tests run on whichever
/// path the host dispatches to (512-bit, 256-bit or no vectors; DOTNET_EnableAVX512F=0 or DOTNET_EnableAVX=0 pick the
/// others).</summary>
public sealed class GemmTests
{
    private static readonly (int N, int K, int M)[] Shapes =
        [(1, 1, 1), (1, 7, 3), (5, 9, 17), (6, 16, 16), (6, 32, 32), (7, 33, 31), (12, 40, 48), (13, 64, 65), (25, 100, 97), (64, 384, 96)];

    private static float[] Random(Random rng, int length)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    private static void Near(double expected, float actual, int k, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * k + 1e-6, $"{what}: {actual} against {expected}");

    [Fact]
    public void ALinearLayersProductIsXTimesWTransposedPlusTheBias()
    {
        var rng = new Random(3);
        foreach (var (n, k, m) in Shapes)
        {
            var x = Random(rng, n * k);
            var w = Random(rng, m * k); // [m × k]: outputs by rows
            var bias = Random(rng, m);
            var y = new float[n * m];
            Gemm.Multiply(x, n, k, w, m, bias, y);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < m; o++)
                {
                    double sum = bias[o];
                    for (int c = 0; c < k; c++) sum += (double)x[i * k + c] * w[o * k + c];
                    Near(sum, y[i * m + o], k, $"{n}×{k}·({m}×{k})ᵀ at [{i}, {o}]");
                }
            // the packed copy is kept with the matrix: a second call with other inputs reads it and is right too
            x = Random(rng, n * k);
            Gemm.Multiply(x, n, k, w, m, default, y);
            for (int o = 0; o < m; o++)
            {
                double sum = 0;
                for (int c = 0; c < k; c++) sum += (double)x[(n - 1) * k + c] * w[o * k + c];
                Near(sum, y[(n - 1) * m + o], k, $"second call, {n}×{k}·({m}×{k})ᵀ at [{n - 1}, {o}]");
            }
        }
    }

    [Fact]
    public void AProductWithAWeightAsItLiesIsXTimesW()
    {
        var rng = new Random(5);
        foreach (var (n, k, m) in Shapes)
        {
            var x = Random(rng, n * k);
            var w = Random(rng, k * m); // [k × m]
            var y = new float[n * m];
            Gemm.MultiplyBy(x, n, k, w, m, y);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < m; o++)
                {
                    double sum = 0;
                    for (int c = 0; c < k; c++) sum += (double)x[i * k + c] * w[c * m + o];
                    Near(sum, y[i * m + o], k, $"{n}×{k}·{k}×{m} at [{i}, {o}]");
                }
        }
    }

    [Fact]
    public void StridedProductsReadAndWriteOnlyTheirSlices()
    {
        var rng = new Random(7);
        foreach (var (n, k, m) in Shapes)
        {
            // X, B and Y as slices of wider matrices, as attention reads a head's columns
            int xStride = k + 5, bStride = m + 3, yStride = m + 11;
            var x = Random(rng, n * xStride);
            var b = Random(rng, k * bStride);
            var y = new float[n * yStride];
            Array.Fill(y, 42f);
            Gemm.MultiplyRows(x, xStride, n, k, b, bStride, m, y, yStride);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < yStride; o++)
                {
                    if (o >= m)
                    {
                        Assert.Equal(42f, y[i * yStride + o]);
                        continue;
                    }
                    double sum = 0;
                    for (int c = 0; c < k; c++) sum += (double)x[i * xStride + c] * b[c * bStride + o];
                    Near(sum, y[i * yStride + o], k, $"strided {n}×{k}·{k}×{m} at [{i}, {o}]");
                }
        }
    }

    [Fact]
    public void AProductWithATransposeReadsTheMatrixWhereItLies()
    {
        var rng = new Random(11);
        foreach (var (n, k, m) in Shapes)
        {
            // Y = Aᵀ · B with A [k × n] a slice of a wider matrix
            int aStride = n + 2, bStride = m + 3, yStride = m + 1;
            var a = Random(rng, k * aStride);
            var b = Random(rng, k * bStride);
            var y = new float[n * yStride];
            Array.Fill(y, 42f);
            Gemm.MultiplyTransposedRows(a, aStride, n, k, b, bStride, m, y, yStride);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(42f, y[i * yStride + m]);
                for (int o = 0; o < m; o++)
                {
                    double sum = 0;
                    for (int c = 0; c < k; c++) sum += (double)a[c * aStride + i] * b[c * bStride + o];
                    Near(sum, y[i * yStride + o], k, $"transposed {k}×{n}ᵀ·{k}×{m} at [{i}, {o}]");
                }
            }
        }
    }

    [Fact]
    public void ASoftmaxRowAddsUpToOneAndKeepsTheOrderOfTheScores()
    {
        var rng = new Random(13);
        foreach (int length in new[] { 1, 3, 8, 17, 256, 300 })
        {
            var scores = Random(rng, length);
            for (int i = 0; i < length; i++) scores[i] *= 200; // exponents that overflow unless shifted
            var row = (float[])scores.Clone();
            NativeEncoder.Softmax(row, 0.25f);
            double max = scores.Max(), sum = scores.Sum(s => Math.Exp((s - max) * 0.25));
            for (int i = 0; i < length; i++)
                Assert.True(Math.Abs(row[i] - Math.Exp((scores[i] - max) * 0.25) / sum) <= 1e-6, $"{length} scores, [{i}]: {row[i]}");
        }
    }

    [Fact]
    public void AMatrixUsedWithAnotherShapeIsRefused()
    {
        var w = new float[12 * 8];
        Gemm.Multiply(new float[8], 1, 8, w, 12, default, new float[12]);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[12], 1, 12, w, 8, default, new float[8]));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[8], 1, 8, new float[10], 12, default, new float[12]));
    }
}
