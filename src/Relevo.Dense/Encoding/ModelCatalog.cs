namespace Relevo.Dense;

/// <summary>Which models a pipeline may name, and where they come from. For a local user (the CLI, a library) a model
/// is a built-in name (arctic-xs, minilm) or a folder path. For a server, pipelines come from anonymous clients, so
/// only names are accepted: the built-ins and the subfolders of the operator's models folder (by their folder name);
/// a path is refused without looking at the file system, and errors never show server paths.</summary>
internal sealed class ModelCatalog
{
    private readonly string? _modelsDirectory;

    /// <param name="modelsDirectory">The operator's folder of model folders (one subfolder per model, named as pipelines
    /// name it), or null.</param>
    /// <param name="allowPaths">Whether a pipeline may name a model folder by its path (local use only).</param>
    public ModelCatalog(string? modelsDirectory, bool allowPaths)
    {
        if (modelsDirectory is not null && !Directory.Exists(modelsDirectory))
            throw new RelevoException($"{modelsDirectory}: the models folder does not exist");
        _modelsDirectory = modelsDirectory is null ? null : Path.GetFullPath(modelsDirectory);
        AllowPaths = allowPaths;
    }

    /// <summary>The catalog of local use: built-in names and folder paths.</summary>
    public static ModelCatalog Local { get; } = new(null, allowPaths: true);

    public bool AllowPaths { get; }

    /// <summary>The key a model's vectors are stored under in an index (its name), for what a pipeline named; checked
    /// when the pipeline is parsed, so a refused name is a 400 naming the column.</summary>
    public string Key(string requested)
    {
        if (AllowPaths) return EmbeddingModel.ResolveName(requested);
        if (!ModelConfig.IsValidName(requested))
            throw new RelevoException($"model '{Shown(requested)}': name a model ({Offered()}), not a path");
        return requested;
    }

    /// <summary>Loads an embedding model by what a pipeline named (the caller caches it).</summary>
    public EmbeddingModel LoadEmbedding(string requested)
    {
        if (AllowPaths || EmbeddingModel.BuiltInNames.Contains(requested)) return EmbeddingModel.Load(requested);
        return Guarded(requested, folder => EmbeddingModel.Load(folder));
    }

    /// <summary>Loads a cross-encoder by what a pipeline named (the caller caches it).</summary>
    public CrossEncoder LoadCrossEncoder(string requested)
    {
        if (AllowPaths) return CrossEncoder.Load(requested);
        return Guarded(requested, CrossEncoder.Load);
    }

    /// <summary>Loads a sparse (SPLADE) query encoder by what a pipeline named (the caller caches it): a folder path
    /// locally, a subfolder of the models folder on a server.</summary>
    public SparseEncoder LoadSparse(string requested)
    {
        if (AllowPaths) return SparseEncoder.Load(requested);
        return Guarded(requested, folder => SparseEncoder.Load(folder));
    }

    // A model of the operator's models folder, by name; its load errors are reported without the server's paths.
    private T Guarded<T>(string requested, Func<string, T> load)
    {
        if (!ModelConfig.IsValidName(requested))
            throw new RelevoException($"model '{Shown(requested)}': name a model ({Offered()}), not a path");
        string? folder = _modelsDirectory is null ? null : Path.Combine(_modelsDirectory, requested);
        if (folder is null || !Directory.Exists(folder))
            throw new RelevoException($"model '{requested}' is not offered here ({Offered()})");
        try
        {
            return load(folder);
        }
        catch (RelevoException e)
        {
            throw new RelevoException($"model '{requested}' could not be loaded (the server's log has the reason)", e);
        }
    }

    /// <summary>The names a server offers: the built-ins and its models folder's subfolders.</summary>
    public string Offered()
    {
        var names = new List<string>(EmbeddingModel.BuiltInNames);
        if (_modelsDirectory is not null)
            foreach (var d in Directory.EnumerateDirectories(_modelsDirectory))
                if (ModelConfig.IsValidName(Path.GetFileName(d))) names.Add(Path.GetFileName(d));
        names.Sort(StringComparer.Ordinal);
        return string.Join(", ", names);
    }

    // a refused request is echoed only in part (it may be long, and it is the client's own text)
    private static string Shown(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
