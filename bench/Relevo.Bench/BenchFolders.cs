namespace Relevo.Bench;

/// <summary>Folders the benchmarks build indexes in. A benchmark deletes a folder only if it created it (it leaves a
/// marker file there when it does); a folder it did not create is refused, whatever is in it.</summary>
internal static class BenchFolders
{
    private const string Marker = ".created-by-relevo-bench";

    /// <summary>An empty folder at <paramref name="path"/>: created (and marked), or emptied if this harness created it.</summary>
    public static void Recreate(string path)
    {
        if (Directory.Exists(path))
        {
            if (!File.Exists(Path.Combine(path, Marker)))
            {
                if (Directory.EnumerateFileSystemEntries(path).Any())
                    throw new InvalidOperationException($"{path} exists and the benchmark did not create it; it deletes nothing there. " +
                                                        "Choose another --work folder or remove it yourself.");
            }
            else
            {
                Directory.Delete(path, recursive: true);
            }
        }
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, Marker), "this folder was created by a Relevo benchmark, which may delete it\n");
    }
}
