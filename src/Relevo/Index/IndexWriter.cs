using Relevo.Analysis;
using Relevo.Index.Formats.V1;

namespace Relevo.Index;

/// <summary>Adds, replaces and deletes documents, and commits them atomically. One writer per index at a time
/// (a lock file guards it). Nothing is visible to readers, or survives a crash, until <see cref="Commit"/> returns;
/// disposing without committing discards the uncommitted changes and leaves the last commit as it was.</summary>
internal sealed class IndexWriter : IDisposable
{
    public const string LockFileName = "write.lock";

    private readonly string _dir;
    private readonly IndexWriterOptions _options;
    private readonly FileStream _lock;
    private readonly Analyzer _analyzer;
    private Manifest _committed;
    private IReadOnlyList<ComponentData> _indexComponents;
    private int _nextSegment;

    // Segments of the last commit plus segments flushed since, each with its pending deletions.
    private readonly List<(SegmentEntry Entry, SegmentReader Reader, DeletedDocs Deletes, bool DeletesChanged)> _segments = [];
    private SegmentBuffer _buffer = new();
    // segments of the commit the writer opened (MergeNewSegments leaves them alone)
    private readonly HashSet<string> _openedWith = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _bufferIds = new(StringComparer.Ordinal);
    private readonly HashSet<int> _bufferDeleted = [];
    private bool _dirty;
    private bool _markedCommitted;
    private bool _createdFolder;

    public string Directory => _dir;
    public Analyzer Analyzer => _analyzer;

    private IndexWriter(string dir, IndexWriterOptions options, FileStream lockFile)
    {
        _dir = dir;
        _options = options;
        MergePolicy = options.MergePolicy;
        _lock = lockFile;
        _committed = Manifest.Exists(dir) ? Manifest.Read(dir) : Manifest.Empty(options.Analyzer);
        _analyzer = Analyzer.Create(_committed.Analyzer);
        _nextSegment = _committed.NextSegment;
        _indexComponents = _committed.IndexComponents;
        Schema = Values.Schema.FromManifest(_committed.Schema);
        foreach (var reader in IndexReader.OpenSegments(dir, _committed))
        {
            var entry = FindEntry(_committed, reader.Name);
            _segments.Add((entry, reader, reader.Deletes.Clone(), false));
            _openedWith.Add(entry.Name);
        }
        RemoveUnreferencedFiles();
    }

    /// <summary>Opens (creating if needed) the index in <paramref name="directory"/> for writing.</summary>
    public static IndexWriter Open(string directory, IndexWriterOptions? options = null)
    {
        options ??= new IndexWriterOptions();
        bool created = IndexFolder.PrepareForWriter(directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new RelevoException($"{directory}: another writer holds the index lock ({e.Message})");
        }
        try
        {
            return new IndexWriter(directory, options, lockFile) { _createdFolder = created };
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    private static SegmentEntry FindEntry(Manifest m, string name)
    {
        foreach (var e in m.Segments) if (e.Name == name) return e;
        throw new InvalidOperationException(name);
    }

    /// <summary>Live documents in the last commit plus uncommitted changes.</summary>
    public int LiveDocs
    {
        get
        {
            int n = _buffer.DocCount - _bufferDeleted.Count;
            foreach (var s in _segments) n += s.Entry.MaxDoc - s.Deletes.Count;
            return n;
        }
    }

    /// <summary>Adds a document. A duplicate id is an error unless the writer replaces existing documents.</summary>
    public void Add(Document doc)
    {
        if (Collections.DocumentIds.Problem(doc.Id) is { } problem) throw new RelevoException($"document _id: {problem}");
        if (doc.Fields is not null) Schema.Check(doc.Fields, $"document {doc.Id}");
        if (Exists(doc.Id))
        {
            if (!_options.ReplaceExisting) throw new DuplicateDocumentIdException(doc.Id);
            Delete(doc.Id);
        }
        int d = _buffer.Add(doc, _analyzer);
        _bufferIds[doc.Id] = d;
        _dirty = true;
        if (_buffer.EstimatedBytes >= _options.RamBudgetBytes) Flush();
    }

    /// <summary>Adds documents in order, as repeated <see cref="Add"/> calls would, and gives the same index for
    /// any thread count: documents are analysed in batches on <paramref name="threads"/> threads (the next batch while
    /// the current one is inverted), and inverted, checked for duplicates and flushed on this thread in input order.</summary>
    /// <param name="added">Called after each document is added, with how many have been added so far.</param>
    public void AddRange(IEnumerable<Document> documents, int threads = 0, Action<long>? added = null)
    {
        if (threads <= 0) threads = Environment.ProcessorCount;
        const int BatchSize = 1024;
        var batches = new[] { NewBatch(BatchSize), NewBatch(BatchSize) };
        var docs = new[] { new Document[BatchSize], new Document[BatchSize] };
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        using var e = documents.GetEnumerator();
        int Fill(Document[] into)
        {
            int n = 0;
            while (n < into.Length && e.MoveNext()) into[n++] = e.Current;
            return n;
        }
        Task<int> Analyze(int which)
        {
            int n = Fill(docs[which]);
            var batch = batches[which];
            var input = docs[which];
            if (threads == 1 || n < 64)
            {
                for (int i = 0; i < n; i++) batch[i].Analyze(input[i], _analyzer);
                return Task.FromResult(n);
            }
            return Task.Run(() =>
            {
                Parallel.For(0, (n + 31) / 32, options, c =>
                {
                    int end = Math.Min(n, c * 32 + 32);
                    for (int i = c * 32; i < end; i++) batch[i].Analyze(input[i], _analyzer);
                });
                return n;
            });
        }

        long count = 0;
        int current = 0;
        var pending = Analyze(current);
        while (true)
        {
            int n = pending.GetAwaiter().GetResult();
            if (n == 0) break;
            // analyse the next batch while this one is inverted
            pending = threads == 1 ? Task.FromResult(-1) : Analyze(1 - current);
            var batch = batches[current];
            for (int i = 0; i < n; i++)
            {
                var doc = batch[i].Document;
                if (Collections.DocumentIds.Problem(doc.Id) is { } problem) throw new RelevoException($"document _id: {problem}");
                if (doc.Fields is not null) Schema.Check(doc.Fields, $"document {doc.Id}");
                if (Exists(doc.Id))
                {
                    if (!_options.ReplaceExisting) throw new DuplicateDocumentIdException(doc.Id);
                    Delete(doc.Id);
                }
                int d = _buffer.Add(batch[i]);
                _bufferIds[doc.Id] = d;
                _dirty = true;
                if (_buffer.EstimatedBytes >= _options.RamBudgetBytes) Flush();
                added?.Invoke(++count);
            }
            if (threads == 1) pending = Analyze(1 - current);
            current = 1 - current;
        }
    }

    private static AnalyzedDocument[] NewBatch(int size)
    {
        var b = new AnalyzedDocument[size];
        for (int i = 0; i < size; i++) b[i] = new AnalyzedDocument();
        return b;
    }

    /// <summary>Whether a live document (committed or pending) has this id.</summary>
    public bool Contains(string id) => Exists(id);

    private bool Exists(string id)
    {
        if (_bufferIds.ContainsKey(id)) return true;
        foreach (var s in _segments)
        {
            int doc = s.Reader.FindId(id);
            if (doc >= 0 && !s.Deletes.IsDeleted(doc)) return true;
        }
        return false;
    }

    /// <summary>Deletes the live document with this id; false if there is none.</summary>
    public bool Delete(string id)
    {
        if (_bufferIds.Remove(id, out int bd))
        {
            _bufferDeleted.Add(bd);
            _dirty = true;
            return true;
        }
        for (int i = 0; i < _segments.Count; i++)
        {
            var s = _segments[i];
            int doc = s.Reader.FindId(id);
            if (doc >= 0 && s.Deletes.Delete(doc))
            {
                _segments[i] = s with { DeletesChanged = true };
                _dirty = true;
                return true;
            }
        }
        return false;
    }

    /// <summary>Writes buffered documents as a new segment (not yet committed).</summary>
    private void Flush()
    {
        if (_buffer.DocCount == 0) return;
        string name = "_" + (_nextSegment++).ToString("x");
        var stats = SegmentWriter.Write(_dir, name, _buffer);
        var deletes = new DeletedDocs(stats.MaxDoc);
        foreach (int d in _bufferDeleted) deletes.Delete(d);
        var entry = new SegmentEntry(name, stats.MaxDoc, stats.SumTotalTermFreq, stats.DocsWithTerms, stats.TermCount, 0, 0);
        var reader = new V1SegmentReader(_dir, name, new DeletedDocs(stats.MaxDoc));
        _segments.Add((entry, reader, deletes, deletes.Count > 0));
        _buffer = new SegmentBuffer();
        _bufferIds.Clear();
        _bufferDeleted.Clear();
    }

    /// <summary>The types of the documents' other keys: read from the last commit, grown by the documents added (see
    /// <see cref="Values.Schema.Check"/>), recorded by the next commit.</summary>
    public Values.Schema Schema { get; private set; }

    /// <summary>Declares the types of a schema file (<see cref="Values.Schema.Declare"/>); the next commit records them
    /// and gives every segment its doc values.</summary>
    public void DeclareSchema(string path)
    {
        Schema.Declare(path);
        if (Schema.Changed) _dirty = true;
    }

    /// <summary>Adds the types a sharded writer decided for every shard (field → type name, as the manifest records them).</summary>
    internal void DeclareTypes(IReadOnlyDictionary<string, string> types)
    {
        Schema.DeclareTypes(types);
        if (Schema.Changed) _dirty = true;
    }

    /// <summary>Gives every segment doc values for the schema's fields (new segments, and older ones when the schema
    /// was empty before or gained a field some of their documents have), written from the stored documents.</summary>
    private void EnsureValues()
    {
        if (Schema.IsEmpty) return;
        for (int i = 0; i < _segments.Count; i++)
        {
            var (entry, reader, deletes, _) = _segments[i];
            if (deletes.Count == entry.MaxDoc || entry.Component(Values.ValuesFile.Component, Values.ValuesFile.Key) is not null) continue;
            AddComponentData(entry.Name, Values.ValuesFile.Write(_dir, entry.Name, reader, Schema));
        }
    }

    /// <summary>Gives every segment the postings of each key the schema declares text (new segments, and all of them
    /// when a declaration is new), analysed from the stored documents. Title and text get theirs only when asked
    /// (<c>--fields</c>); a declared text field is always searchable.</summary>
    private void EnsureTextFields()
    {
        foreach (var field in Schema.TextFields)
            for (int i = 0; i < _segments.Count; i++)
            {
                var (entry, reader, _, _) = _segments[i];
                if (entry.Component(Fields.TextFields.Component, field) is not null) continue;
                AddComponentData(entry.Name, Fields.TextFields.Write(_dir, entry.Name, reader, field, _analyzer));
            }
    }

    /// <summary>How segments merge at each commit; null: only when asked. Starts as the options'.</summary>
    public MergePolicy? MergePolicy { get; set; }

    /// <summary>A segment's manifest entry for the commit of <paramref name="generation"/>, its deletions written.</summary>
    private SegmentEntry CommittedEntry(int i, long generation)
    {
        var s = _segments[i];
        var entry = s.Entry;
        if (!s.DeletesChanged) return entry;
        s.Deletes.Write(Path.Combine(_dir, SegmentFiles.Deletes(entry.Name, generation)));
        return entry with { DeleteGeneration = generation, DeleteCount = s.Deletes.Count };
    }

    /// <summary>Makes every change so far durable and visible, atomically.</summary>
    public void Commit()
    {
        if (!_dirty && Manifest.Exists(_dir)) return;
        Flush();
        if (MergePolicy is { } policy)
            while (policy.FindMerge(LiveDocsPerSegment(), SegmentKinds()) is { } merge) MergeRange(merge.Start, merge.Count);
        EnsureValues();
        EnsureTextFields();
        Stage("segments-written");
        long generation = _committed.Generation + 1;
        var entries = new List<SegmentEntry>();
        int carrier = -1;
        for (int i = 0; i < _segments.Count; i++)
        {
            if (_segments[i].Deletes.Count == _segments[i].Entry.MaxDoc)
            {
                if (_segments[i].Entry.Components.Count > 0) carrier = i;
                continue; // every document deleted: the segment drops out of the index
            }
            entries.Add(CommittedEntry(i, generation));
        }
        // ...unless every segment goes: then one that carries component data (a model's vectors) stays, emptied, so
        // that the documents added next get that data too (CompleteComponents) and dense search keeps working
        if (entries.Count == 0 && carrier >= 0) entries.Add(CommittedEntry(carrier, generation));
        Stage("deletes-written");
        var manifest = new Manifest(Manifest.CurrentFormat, generation, _analyzer.Name, _nextSegment, entries)
        {
            IndexComponents = _indexComponents,
            Schema = Schema.ToManifest(),
        };
        manifest.Commit(_dir, Stage);
        // The commit is durable from here on: nothing below may fail it (the caller is told it committed).
        Stage("committed");
        _committed = manifest;
        AdoptCommit(manifest);
        _dirty = false;
        try
        {
            if (!_markedCommitted)
            {
                IndexFolder.MarkCommitted(_dir); // from now on a missing manifest means damage
                _markedCommitted = true;
            }
            RemoveUnreferencedFiles();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a leftover file is removed by a later commit or the next writer; the marker is written again then
        }
    }

    /// <summary>After a commit: the segments it names keep their open readers and pending-free deletions (nothing is
    /// reopened); segments it dropped (every document deleted) are closed.</summary>
    private void AdoptCommit(Manifest manifest)
    {
        var entries = new Dictionary<string, SegmentEntry>(StringComparer.Ordinal);
        foreach (var e in manifest.Segments) entries[e.Name] = e;
        var kept = new List<(SegmentEntry, SegmentReader, DeletedDocs, bool)>(_segments.Count);
        foreach (var s in _segments)
        {
            if (entries.TryGetValue(s.Entry.Name, out var entry)) kept.Add((entry, s.Reader, s.Deletes, false));
            else s.Reader.Dispose();
        }
        _segments.Clear();
        _segments.AddRange(kept);
    }

    /// <summary>Merges all segments into one (dropping deleted documents) and commits.</summary>
    public void ForceMerge()
    {
        Flush();
        int liveSegments = 0;
        foreach (var s in _segments) if (s.Deletes.Count < s.Entry.MaxDoc) liveSegments++;
        if (_segments.Count <= 1 && (_segments.Count == 0 || _segments[0].Deletes.Count == 0))
        {
            Commit();
            return;
        }
        if (liveSegments == 0)
        {
            Commit(); // every document deleted: the commit drops every segment (but one that carries component data)
            return;
        }
        MergeRange(0, _segments.Count);
        Commit();
    }

    /// <summary>Merges the segments written since this writer opened (they are the newest, so adjacent) into one, and
    /// commits: a batch that built many segments leaves one, without rewriting the segments it found.</summary>
    public void MergeNewSegments()
    {
        Flush();
        _dirty = true; // commits even when nothing changed and nothing merges (the caller asked for a commit)
        int first = _segments.FindIndex(s => !_openedWith.Contains(s.Entry.Name));
        if (first >= 0 && _segments.Count - first > 1) MergeRange(first, _segments.Count - first);
        Commit();
    }

    // what each segment carries besides postings, e.g. "vectors/arctic-xs" (the merge policy merges only alike segments)
    private List<string> SegmentKinds()
    {
        var kinds = new List<string>(_segments.Count);
        foreach (var s in _segments)
        {
            var keys = new List<string>(s.Entry.Components.Count);
            foreach (var c in s.Entry.Components) keys.Add(c.Component + "/" + c.Key);
            keys.Sort(StringComparer.Ordinal);
            kinds.Add(string.Join(',', keys));
        }
        return kinds;
    }

    private List<long> LiveDocsPerSegment()
    {
        var live = new List<long>(_segments.Count);
        foreach (var s in _segments) live.Add(s.Entry.MaxDoc - s.Deletes.Count);
        return live;
    }

    /// <summary>Replaces the adjacent segments [start, start + count) by one segment of their live documents, in
    /// order (so documents keep their relative order, and ties between equal scores still break as before); every
    /// segment component's data is carried over by its registered component. Not committed.</summary>
    private void MergeRange(int start, int count)
    {
        var range = _segments.GetRange(start, count);
        foreach (var s in range)
            if (_merging.Contains(s.Entry.Name))
                throw new RelevoException($"{_dir}: segment {s.Entry.Name} is being merged in the background; try again when that merge is done");
        foreach (var s in range)
            foreach (var c in s.Entry.Components)
                if (FindComponent(c.Component) is null)
                    throw new RelevoException($"{_dir}: segment {s.Entry.Name} holds '{c.Component}' data, which this program cannot " +
                                              $"merge (it was written by an extension that is not loaded here); nothing was merged");
        var readers = new List<SegmentReader>(count);
        foreach (var s in range)
        {
            s.Reader.Deletes = s.Deletes; // the merge sees pending deletions
            readers.Add(s.Reader);
        }
        string name = "_" + (_nextSegment++).ToString("x");
        var stats = SegmentWriter.Write(_dir, name, new SegmentMerger(readers));
        var components = new List<ComponentData>();
        var sources = range.ConvertAll(s => (s.Entry, s.Reader));
        foreach (var component in ComponentsIn(range)) components.AddRange(component.Merge(_dir, name, sources, MergeContext.Foreground(_options.Threads)));
        foreach (var s in range) s.Reader.Dispose();
        var entry = new SegmentEntry(name, stats.MaxDoc, stats.SumTotalTermFreq, stats.DocsWithTerms, stats.TermCount, 0, 0)
        {
            Components = components,
        };
        _segments.RemoveRange(start, count);
        _segments.Insert(start, (entry, new V1SegmentReader(_dir, name, new DeletedDocs(stats.MaxDoc)), new DeletedDocs(stats.MaxDoc), false));
        _dirty = true;
    }

    /// <summary>Gives segments written since the last commit the component data (vectors of a model, ...) that every
    /// segment of the last commit has, through each data's registered component (which may embed, and so take a
    /// while); not committed. A component that cannot refuses with a reason, and the caller rolls back.</summary>
    /// <param name="elsewhere">Where to look when this index has no committed segment with such data (a shard that
    /// never held documents asks its sibling shards): a folder and the data every segment there has.</param>
    public void CompleteComponents(ServiceSet services, Func<(string Directory, List<ComponentData> Data)?>? elsewhere = null)
    {
        Flush();
        var committed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in _committed.Segments) committed.Add(e.Name);
        // what every committed segment with live documents has; if none has any (every document was deleted), what
        // the emptied segment the commit kept has, so that an index emptied by deletions keeps its vectors
        var everywhere = SegmentEntry.CommonComponents(_committed.Segments.Where(e => !e.IsEmptied))
                         ?? SegmentEntry.CommonComponents(_committed.Segments.Where(e => e.IsEmptied));
        string templates = _dir;
        if ((everywhere is null || everywhere.Count == 0) && elsewhere?.Invoke() is { } other)
            (templates, everywhere) = other;
        if (everywhere is null || everywhere.Count == 0) return;
        everywhere = [.. everywhere.OrderBy(d => FindComponent(d.Component)?.Order ?? 0)];
        for (int i = 0; i < _segments.Count; i++)
        {
            var (entry, reader, deletes, _) = _segments[i];
            if (committed.Contains(entry.Name) || deletes.Count == entry.MaxDoc) continue;
            foreach (var wanted in everywhere)
            {
                if (entry.Component(wanted.Component, wanted.Key) is not null) continue;
                var component = FindComponent(wanted.Component)
                    ?? throw new RelevoException($"the index's segments hold '{wanted.Component}' data for '{wanted.Key}', which this " +
                                                 "program cannot write for new documents (the extension that wrote it is not loaded)");
                reader.Deletes = deletes;
                if (component.Complete(_dir, entry, reader, new ComponentTemplate(wanted, templates, _committed.Analyzer) { Schema = Schema }, services) is { } data)
                    AddComponentData(entry.Name, data);
                entry = _segments[i].Entry;
            }
        }
    }

    // --- Merges in the background (a server's writer: writes keep their latency while segments merge) ---

    // segments being merged by a BackgroundMerge, and the names of the segments those merges write
    private readonly HashSet<string> _merging = new(StringComparer.Ordinal);
    private readonly HashSet<string> _mergeOutputs = new(StringComparer.Ordinal);

    /// <summary>A merge chosen by <see cref="StartMerge"/>: <see cref="Run"/> writes the merged segment from a snapshot
    /// of its sources without the writer (other threads keep adding, deleting and committing meanwhile), and
    /// <see cref="FinishMerge"/> swaps it in, carrying over deletions made since the snapshot.</summary>
    internal sealed class BackgroundMerge
    {
        internal required string Directory { get; init; }
        internal required string Name { get; init; }
        internal required List<(SegmentEntry Entry, SegmentReader Reader)> Sources { get; init; }
        internal required List<SegmentComponent> Components { get; init; }
        internal SegmentEntry? Result { get; private set; }

        /// <summary>What the components may spend (a server gives a background merge half the cores, and cancels it
        /// when it closes).</summary>
        internal MergeContext Context { get; set; } = MergeContext.Foreground();

        /// <summary>Live documents the merge reads.</summary>
        public long Documents
        {
            get { long n = 0; foreach (var (_, r) in Sources) n += r.LiveDocs; return n; }
        }

        /// <summary>Writes the merged segment (fsynced); call without holding the writer.</summary>
        public void Run()
        {
            var readers = Sources.ConvertAll(s => s.Reader);
            var stats = SegmentWriter.Write(Directory, Name, new SegmentMerger(readers));
            var components = new List<ComponentData>();
            foreach (var component in Components)
            {
                Context.Cancellation.ThrowIfCancellationRequested();
                components.AddRange(component.Merge(Directory, Name, Sources, Context));
            }
            Result = new SegmentEntry(Name, stats.MaxDoc, stats.SumTotalTermFreq, stats.DocsWithTerms, stats.TermCount, 0, 0)
            {
                Components = components,
            };
        }

        internal void CloseSources()
        {
            foreach (var (_, r) in Sources) r.Dispose();
        }
    }

    /// <summary>Chooses the next merge by <paramref name="policy"/> among segments no other merge is working on, and
    /// snapshots its sources; null when none is due. Call under the same lock as the writer's other methods.</summary>
    public BackgroundMerge? StartMerge(MergePolicy policy)
    {
        var live = LiveDocsPerSegment();
        var kinds = SegmentKinds();
        for (int i = 0; i < _segments.Count; i++)
            if (_merging.Contains(_segments[i].Entry.Name)) kinds[i] = "\0merging " + i; // a kind of its own: no run includes it
        if (policy.FindMerge(live, kinds) is not { } pick) return null;
        var range = _segments.GetRange(pick.Start, pick.Count);
        foreach (var seg in range)
            foreach (var c in seg.Entry.Components)
                if (FindComponent(c.Component) is null) return null; // data this program cannot carry over: leave them be
        var sources = new List<(SegmentEntry, SegmentReader)>(range.Count);
        foreach (var seg in range)
        {
            sources.Add((seg.Entry, seg.Reader.Share(seg.Deletes.Clone())));
            _merging.Add(seg.Entry.Name);
        }
        string name = "_" + (_nextSegment++).ToString("x");
        _mergeOutputs.Add(name);
        return new BackgroundMerge { Directory = _dir, Name = name, Sources = sources, Components = ComponentsIn(range) };
    }

    /// <summary>Replaces the merge's sources by its merged segment (documents deleted since the snapshot are deleted in
    /// it); not committed. Call under the writer's lock after <see cref="BackgroundMerge.Run"/> returned.</summary>
    public void FinishMerge(BackgroundMerge merge)
    {
        var result = merge.Result ?? throw new InvalidOperationException("the merge has not run");
        var deletes = new DeletedDocs(result.MaxDoc);
        int first = -1, remaining = 0, merged = 0;
        foreach (var (entry, snapshot) in merge.Sources)
        {
            int at = _segments.FindIndex(x => x.Entry.Name == entry.Name);
            // a source the last commit dropped had every document deleted
            DeletedDocs? now = at >= 0 ? _segments[at].Deletes : null;
            if (at >= 0)
            {
                if (first < 0) first = at;
                else if (at != first + remaining) throw new InvalidOperationException($"segment {entry.Name} moved during a merge");
                remaining++;
            }
            for (int d = 0; d < entry.MaxDoc; d++)
            {
                if (snapshot.IsDeleted(d)) continue;
                if (now is null || now.IsDeleted(d)) deletes.Delete(merged);
                merged++;
            }
        }
        if (merged != result.MaxDoc) throw new InvalidOperationException($"merged segment {result.Name}: {result.MaxDoc} documents, expected {merged}");
        for (int i = first; i < first + remaining; i++) _segments[i].Reader.Dispose();
        if (remaining > 0) _segments.RemoveRange(first, remaining);
        else first = _segments.Count; // cannot happen for a non-empty result unless everything was deleted; keep order anyway
        _segments.Insert(first, (result, new V1SegmentReader(_dir, result.Name, deletes.Clone()), deletes, deletes.Count > 0));
        EndMerge(merge);
        _dirty = true;
    }

    /// <summary>Gives a merge up (it failed, or the writer closes): its files are removed, its sources stay.</summary>
    public void AbandonMerge(BackgroundMerge merge)
    {
        EndMerge(merge);
        foreach (var file in System.IO.Directory.EnumerateFiles(_dir, merge.Name + ".*")) SegmentWriter.TryDelete(file);
    }

    private void EndMerge(BackgroundMerge merge)
    {
        merge.CloseSources();
        foreach (var (entry, _) in merge.Sources) _merging.Remove(entry.Name);
        _mergeOutputs.Remove(merge.Name);
    }

    private SegmentComponent? FindComponent(string name)
    {
        foreach (var c in _options.Components) if (string.Equals(c.Name, name, StringComparison.Ordinal)) return c;
        return name == Values.ValuesFile.Component ? Values.ValuesComponent.Instance : null; // core data every writer carries
    }

    private List<SegmentComponent> ComponentsIn(List<(SegmentEntry Entry, SegmentReader Reader, DeletedDocs Deletes, bool DeletesChanged)> range)
    {
        var list = new List<SegmentComponent>();
        foreach (var s in range)
            foreach (var c in s.Entry.Components)
                if (FindComponent(c.Component) is { } component && !list.Contains(component)) list.Add(component);
        // data computed from another component's (a field's positions from its postings) comes after it
        return [.. list.OrderBy(c => c.Order)];
    }

    /// <summary>The writer's last commit (what <see cref="Commit"/> last made durable, or what it opened).</summary>
    public Manifest LastCommit => _committed;

    /// <summary>Drops every uncommitted change and makes <paramref name="target"/>, an earlier commit of this index whose
    /// files still exist, the current commit again (under a new generation). A shard of a sharded index returns to the
    /// commit its cluster manifest names when a cluster-wide commit did not complete.</summary>
    public void RestoreCommit(Manifest target)
    {
        _buffer = new SegmentBuffer();
        _bufferIds.Clear();
        _bufferDeleted.Clear();
        var manifest = target with
        {
            Generation = Math.Max(_committed.Generation, target.Generation) + 1,
            NextSegment = Math.Max(_nextSegment, target.NextSegment),
        };
        manifest.Commit(_dir, Stage);
        _committed = manifest;
        _nextSegment = manifest.NextSegment;
        _indexComponents = manifest.IndexComponents;
        Schema = Values.Schema.FromManifest(manifest.Schema); // types an aborted write inferred are forgotten
        ReloadSegments();
        RemoveUnreferencedFiles();
        _dirty = false;
    }

    /// <summary>Drops every uncommitted change.</summary>
    public void Rollback()
    {
        _buffer = new SegmentBuffer();
        _bufferIds.Clear();
        _bufferDeleted.Clear();
        _committed = Manifest.Exists(_dir) ? Manifest.Read(_dir) : _committed;
        _nextSegment = Math.Max(_nextSegment, _committed.NextSegment);
        _indexComponents = _committed.IndexComponents;
        Schema = Values.Schema.FromManifest(_committed.Schema); // types inferred from what was rolled back are forgotten
        ReloadSegments();
        RemoveUnreferencedFiles();
        _dirty = false;
    }

    /// <summary>Readers for the segments of the last commit, with its deletions: segments open already keep their
    /// readers (segment files never change), others are opened.</summary>
    private void ReloadSegments()
    {
        var open = new Dictionary<string, SegmentReader>(StringComparer.Ordinal);
        foreach (var s in _segments) open[s.Entry.Name] = s.Reader;
        _segments.Clear();
        try
        {
            if (!Manifest.Exists(_dir)) return;
            foreach (var entry in _committed.Segments)
            {
                var deletes = IndexReader.ReadDeletes(_dir, entry);
                if (open.Remove(entry.Name, out var reader)) reader.Deletes = deletes;
                else reader = new V1SegmentReader(_dir, entry.Name, deletes);
                _segments.Add((entry, reader, deletes.Clone(), false));
            }
        }
        finally
        {
            foreach (var r in open.Values) r.Dispose();
        }
    }

    /// <summary>Deletes files no commit refers to: leftovers of a crash, merged-away segments, old deletions.</summary>
    private void RemoveUnreferencedFiles()
    {
        var keep = new HashSet<string>(StringComparer.Ordinal) { Manifest.FileName, LockFileName };
        var commits = new List<Manifest> { _committed };
        if (_options.ProtectedCommits is { } protectedCommits) commits.AddRange(protectedCommits());
        foreach (var s in commits.SelectMany(c => c.Segments))
        {
            foreach (var f in SegmentFiles.All(s.Name)) keep.Add(f);
            if (s.DeletesFile is { } d) keep.Add(d);
            foreach (var f in s.ComponentFiles()) keep.Add(f);
        }
        foreach (var c in commits.SelectMany(c => c.IndexComponents).Concat(_indexComponents))
            foreach (var f in c.Files) keep.Add(f);
        foreach (var f in _segments)
        {
            foreach (var name in SegmentFiles.All(f.Entry.Name)) keep.Add(name);
            foreach (var name in f.Entry.ComponentFiles()) keep.Add(name);
        }
        foreach (var file in System.IO.Directory.EnumerateFiles(_dir))
        {
            string name = Path.GetFileName(file);
            if (!keep.Contains(name) && IndexFolder.IsOwnedFile(name) && !IsMergeOutput(name)) SegmentWriter.TryDelete(file);
        }
    }

    // --- Segment components (e.g. the dense extension's vectors) ---

    /// <summary>The segments as of the last commit or flush, with readers, for writing per-segment component data.</summary>
    internal IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> Segments()
    {
        var list = new List<(SegmentEntry, SegmentReader)>(_segments.Count);
        foreach (var s in _segments) list.Add((s.Entry, s.Reader));
        return list;
    }

    /// <summary>Records that <paramref name="segment"/> now has <paramref name="data"/> (its files written and fsynced);
    /// the next <see cref="Commit"/> makes it part of the index atomically. Data of the same component and key is
    /// replaced.</summary>
    internal void AddComponentData(string segment, ComponentData data)
    {
        for (int i = 0; i < _segments.Count; i++)
        {
            var s = _segments[i];
            if (s.Entry.Name != segment) continue;
            var components = new List<ComponentData>(s.Entry.Components.Count + 1);
            foreach (var c in s.Entry.Components)
                if (c.Component != data.Component || c.Key != data.Key) components.Add(c);
            components.Add(data);
            _segments[i] = s with { Entry = s.Entry with { Components = components } };
            _dirty = true;
            return;
        }
        throw new InvalidOperationException($"no segment {segment} in the writer");
    }

    /// <summary>Records that the index now has <paramref name="data"/> (its files written and fsynced), replacing
    /// the data of the same component; the next <see cref="Commit"/> makes it part of the index atomically.</summary>
    internal void SetIndexComponent(ComponentData data)
    {
        var list = new List<ComponentData>(_indexComponents.Count + 1);
        foreach (var c in _indexComponents)
            if (c.Component != data.Component) list.Add(c);
        list.Add(data);
        _indexComponents = list;
        _dirty = true;
    }

    // a file a background merge is writing (the segment is in no commit yet)
    private bool IsMergeOutput(string name)
    {
        foreach (var output in _mergeOutputs)
            if (name.Length > output.Length && name.StartsWith(output, StringComparison.Ordinal) && name[output.Length] is '.' or '_') return true;
        return false;
    }

    private void Stage(string stage) => _options.CommitStage?.Invoke(stage);

    public void Dispose()
    {
        foreach (var s in _segments) s.Reader.Dispose();
        _segments.Clear();
        if (_dirty)
        {
            // Uncommitted work is discarded: remove the segment files it flushed.
            RemoveUnreferencedFilesAfterClose();
        }
        _lock.Dispose();
        // a writer that never committed leaves no trace: not even the marker of a new index
        if (_committed.Generation == 0 && !Manifest.Exists(_dir)) IndexFolder.RemoveUncommitted(_dir, _createdFolder);
    }

    private void RemoveUnreferencedFilesAfterClose()
    {
        _committed = Manifest.Exists(_dir) ? Manifest.Read(_dir) : Manifest.Empty(_analyzer.Name);
        RemoveUnreferencedFiles();
    }
}
