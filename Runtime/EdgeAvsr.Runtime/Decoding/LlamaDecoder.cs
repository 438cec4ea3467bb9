using EdgeAvsr.Runtime.Interop;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>
/// Decodes prompts with llama.cpp: text as token batches, projector outputs as embedding batches at the
/// following positions, then greedy or beam search (HF generate semantics) with the prompt's KV cells shared
/// by all beams (<c>MemorySequenceCopy</c>, llama_memory_seq_cp, on a unified cache). One context, reused across calls.
/// </summary>
public sealed class LlamaDecoder : IDisposable
{
    private readonly DecoderModel _model;
    private readonly DecoderOptions _options;
    private SafeLLamaContextHandle? _context;
    private int _contextCells;
    private int _contextSequences;
    // LLamaSharp's batches grow as entries are added and keep their arrays across Clear().
    private readonly LLamaBatch _tokenBatch = new();
    private LLamaBatchEmbeddings? _embeddingBatch;
    // One vocab-sized logits row per beam, reused by every step of every call (LOH garbage otherwise).
    private readonly List<float[]> _beamRows = [];
    // Null under the fixed policy or with one thread: every call then uses the configured count.
    private readonly DecoderThreadChooser? _threadChooser;
    private int _appliedThreads;

    public LlamaDecoder(DecoderModel model, DecoderOptions? options = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options ?? new DecoderOptions();
        if (_options.BatchSize < 1)
        {
            throw new EdgeAvsrException($"batch size {_options.BatchSize} must be at least 1");
        }
        int threads = _options.ResolvedThreads;
        if (_options.ThreadPolicy == DecoderThreadPolicy.Adaptive && threads > 1)
        {
            _threadChooser = _options.ThreadChooserFactory?.Invoke(threads) ?? new DecoderThreadChooser(threads);
            if (_threadChooser.MaxThreads != threads)
            {
                throw new EdgeAvsrException($"the thread chooser allows {_threadChooser.MaxThreads} threads, the decoder has {threads}");
            }
        }
    }

    public DecoderModel Model => _model;

    public DecoderOptions Options => _options;

    /// <summary>The adaptive policy's chooser; null under the fixed policy or with one thread.</summary>
    public DecoderThreadChooser? ThreadChooser => _threadChooser;

    /// <summary>
    /// Generates from <paramref name="prompt"/>; <paramref name="onToken"/> sees greedy tokens as they come (beam search: the
    /// winner's tokens at the end).
    /// </summary>
    public DecodeResult Generate(
        DecoderPrompt prompt, GenerationOptions generation, Action<DecodedToken>? onToken = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(generation);
        if (generation.MaxNewTokens < 1)
        {
            throw new EdgeAvsrException($"max new tokens {generation.MaxNewTokens} must be at least 1");
        }
        if (generation.Beams < 1)
        {
            throw new EdgeAvsrException($"beams {generation.Beams} must be at least 1");
        }
        int beams = generation.Beams;
        int sequences = beams == 1 ? 1 : 2 * beams;
        var ctx = EnsureContext(prompt.Length + beams * generation.MaxNewTokens + 1, sequences);
        var clock = Stopwatch.StartNew();
        Prefill(ctx, prompt, allLogits: null);
        var prefill = clock.Elapsed;
        // The prompt's last logits stay in the context until the next llama_decode; copied only when kept.
        ReadOnlySpan<float> logits = ctx.GetLogitsIth(-1);
        float[]? first = generation.KeepFirstLogits ? logits.ToArray() : null;
        return beams == 1
            ? Greedy(ctx, prompt.Length, logits, generation, first, prefill, onToken, cancellation)
            : BeamSearch(ctx, prompt.Length, logits, generation, first, prefill, onToken, cancellation);
    }

    /// <summary>
    /// Allocates the context up front for prompts plus generated positions up to <paramref name="positions"/>
    /// (beam search needs prompt + beams x new tokens) and <paramref name="beams"/> beams, so the first
    /// <see cref="Generate"/> does not pay for it.
    /// </summary>
    public void Reserve(int positions, int beams = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(positions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(beams, 1);
        EnsureContext(positions, beams == 1 ? 1 : 2 * beams);
    }

    /// <summary>The tokens of <see cref="Generate"/> as an async stream (generation runs on a worker thread).</summary>
    public async IAsyncEnumerable<DecodedToken> StreamAsync(
        DecoderPrompt prompt, GenerationOptions generation, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var channel = Channel.CreateUnbounded<DecodedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var run = Task.Run(() =>
        {
            try
            {
                Generate(prompt, generation, t => channel.Writer.TryWrite(t), cancellation);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }, cancellation);
        await foreach (var t in channel.Reader.ReadAllAsync(cancellation).ConfigureAwait(false))
        {
            yield return t;
        }
        await run.ConfigureAwait(false);
    }

    /// <summary>Logits at every prompt position (verification: compares with a reference forward pass).</summary>
    public float[][] PromptLogits(DecoderPrompt prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ctx = EnsureContext(prompt.Length + 1, 1);
        var all = new List<float[]>(prompt.Length);
        Prefill(ctx, prompt, all);
        return [.. all];
    }

    private DecodeResult Greedy(SafeLLamaContextHandle ctx, int promptLength, ReadOnlySpan<float> promptLogits, GenerationOptions generation, float[]? first,
        TimeSpan prefill, Action<DecodedToken>? onToken, CancellationToken cancellation)
    {
        int maxNew = generation.MaxNewTokens;
        ReadOnlySpan<float> logits = promptLogits;
        var clock = Stopwatch.StartNew();
        var tokens = new List<int>();
        var text = new TokenTextStream(_model);
        var batch = _tokenBatch;
        double score = 0;
        int calls = 0;
        long nativeTicks = 0;
        var evalStart = _options.NativeTimings ? ctx.GetTimings().Eval : TimeSpan.Zero;
        var stop = StopReason.MaxTokens;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            int next = ArgMax(logits);
            score += logits[next] - LogSumExpFast(logits);
            if (generation.StopAtEndOfGeneration && _model.IsEndOfGeneration(next))
            {
                stop = StopReason.EndOfGeneration;
                break;
            }
            tokens.Add(next);
            onToken?.Invoke(new DecodedToken(next, text.Push(next)));
            if (tokens.Count >= maxNew)
            {
                break;
            }
            batch.Clear();
            batch.Add(next, promptLength + tokens.Count - 1, LLamaSeqId.Zero, true);
            int threads = UseThreads(ctx, _threadChooser?.Next());
            long callStart = Stopwatch.GetTimestamp();
            Decode(ctx, batch);
            logits = ctx.GetLogitsIth(0);
            long callTicks = Stopwatch.GetTimestamp() - callStart;
            _threadChooser?.Record(threads, Stopwatch.GetElapsedTime(0, callTicks));
            nativeTicks += callTicks;
            calls++;
        }
        var generationTime = clock.Elapsed;
        var nativeEval = _options.NativeTimings ? ctx.GetTimings().Eval - evalStart : TimeSpan.Zero;
        var timings = new DecodeTimings(prefill, generationTime, promptLength, calls, calls, Stopwatch.GetElapsedTime(0, nativeTicks), nativeEval);
        return new DecodeResult([.. tokens], _model.Detokenize(tokens), score, stop, first, timings);
    }

    private DecodeResult BeamSearch(SafeLLamaContextHandle ctx, int promptLength, ReadOnlySpan<float> promptLogits, GenerationOptions generation,
        float[]? first, TimeSpan prefill, Action<DecodedToken>? onToken, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        int beams = generation.Beams;
        int vocab = _model.VocabularySize;
        var search = new BeamSearchState(beams, vocab, _model.EndOfGeneration, generation.MaxNewTokens);
        // Every beam starts on the prompt's cells (sequence 0); new beams alternate between two sequence sets.
        var beamSeq = new int[beams];
        var rows = BeamRows(beams, vocab);
        promptLogits.CopyTo(rows[0]);
        var beamLogits = Enumerable.Repeat(rows[0], beams).ToArray();
        int setOffset = beams;
        var batch = _tokenBatch;
        int calls = 0;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            if (!search.Step(beamLogits, out int[] parents, out int[] tokens))
            {
                break;
            }
            // Reorder the cache: each new beam's sequence shares its parent's cells, then the old sequences go.
            // The new set is empty here: the prefill cleared the cache and each step removes the set it leaves.
            var newSeq = new int[beams];
            for (int b = 0; b < beams; b++)
            {
                newSeq[b] = setOffset + b;
                ctx.MemorySequenceCopy((LLamaSeqId)beamSeq[parents[b]], (LLamaSeqId)newSeq[b], -1, -1);
            }
            foreach (int s in beamSeq.Distinct())
            {
                ctx.MemorySequenceRemove((LLamaSeqId)s, -1, -1);
            }
            beamSeq = newSeq;
            setOffset = setOffset == 0 ? beams : 0;
            batch.Clear();
            for (int b = 0; b < beams; b++)
            {
                batch.Add(tokens[b], promptLength + search.Length - 1, (LLamaSeqId)beamSeq[b], true);
            }
            Decode(ctx, batch);
            calls++;
            for (int b = 0; b < beams; b++)
            {
                ctx.GetLogitsIth(b).CopyTo(rows[b]);
            }
            beamLogits = rows;
        }
        var (bestScore, best) = search.Finish();
        var stop = best.Length >= generation.MaxNewTokens ? StopReason.MaxTokens : StopReason.EndOfGeneration;
        if (onToken is not null)
        {
            var text = new TokenTextStream(_model);
            foreach (int t in best)
            {
                onToken(new DecodedToken(t, text.Push(t)));
            }
        }
        var timings = new DecodeTimings(prefill, clock.Elapsed, promptLength, calls, calls * beams);
        return new DecodeResult(best, _model.Detokenize(best), bestScore, stop, first, timings);
    }

    /// <summary>
    /// The <paramref name="keep"/> best (beam score + log-softmax) continuations over all beams, best first;
    /// ties go to the lower flat index beam * vocab + token.
    /// </summary>
    internal static (double Score, int Beam, int Token)[] TopCandidates(float[][] logits, double[] beamScores, int keep, int vocab)
    {
        var all = new List<(double Score, int Beam, int Token)>(keep * logits.Length);
        var top = new (float Logit, int Token)[keep];
        for (int b = 0; b < logits.Length; b++)
        {
            var row = logits[b];
            double lse = LogSumExp(row);
            int n = 0;
            for (int t = 0; t < vocab; t++)
            {
                float v = row[t];
                if (n == keep && v <= top[n - 1].Logit)
                {
                    continue;
                }
                int i = n < keep ? n++ : n - 1;
                while (i > 0 && top[i - 1].Logit < v)
                {
                    top[i] = top[i - 1];
                    i--;
                }
                top[i] = (v, t);
            }
            for (int i = 0; i < n; i++)
            {
                all.Add((beamScores[b] + (top[i].Logit - lse), b, top[i].Token));
            }
        }
        all.Sort((x, y) =>
        {
            int c = y.Score.CompareTo(x.Score);
            return c != 0 ? c : ((long)x.Beam * vocab + x.Token).CompareTo((long)y.Beam * vocab + y.Token);
        });
        return all.Take(keep).ToArray();
    }

    internal static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best])
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>log Σ exp(v) in double precision (beam scores).</summary>
    internal static double LogSumExp(ReadOnlySpan<float> v)
    {
        float max = float.NegativeInfinity;
        foreach (float x in v)
        {
            max = Math.Max(max, x);
        }
        double sum = 0;
        foreach (float x in v)
        {
            sum += Math.Exp(x - (double)max);
        }
        return max + Math.Log(sum);
    }

    /// <summary>log Σ exp(v) with single-precision exponentials (the greedy score, cheap per token).</summary>
    internal static double LogSumExpFast(ReadOnlySpan<float> v)
    {
        float max = float.NegativeInfinity;
        foreach (float x in v)
        {
            max = Math.Max(max, x);
        }
        double sum = 0;
        foreach (float x in v)
        {
            sum += MathF.Exp(x - max);
        }
        return max + Math.Log(sum);
    }

    /// <summary>
    /// Feeds the prompt at positions 0.. of sequence 0; the logits of every position go to <paramref name="allLogits"/>
    /// when given, else only the last position has logits (read with <c>Logits(-1, ...)</c> before the next decode).
    /// </summary>
    private void Prefill(SafeLLamaContextHandle ctx, DecoderPrompt prompt, List<float[]>? allLogits)
    {
        ctx.MemoryClear(true);
        UseThreads(ctx, _threadChooser?.Best);
        int total = prompt.Length;
        bool outputAll = allLogits is not null;
        int pos = 0;
        foreach (var segment in prompt.Segments)
        {
            for (int start = 0; start < segment.Length; start += _options.BatchSize)
            {
                int n = Math.Min(_options.BatchSize, segment.Length - start);
                if (segment.Tokens is { } tokens)
                {
                    var batch = _tokenBatch;
                    batch.Clear();
                    for (int i = 0; i < n; i++)
                    {
                        batch.Add(tokens[start + i], pos + i, LLamaSeqId.Zero, outputAll || pos + i == total - 1);
                    }
                    Decode(ctx, batch);
                }
                else
                {
                    var rows = segment.Embeddings!;
                    if (rows.Columns != _model.InputWidth)
                    {
                        throw new EdgeAvsrException($"embedding rows have width {rows.Columns}, the model takes {_model.InputWidth} (n_embd)");
                    }
                    var batch = _embeddingBatch ??= new LLamaBatchEmbeddings(_model.InputWidth);
                    batch.Clear();
                    for (int i = 0; i < n; i++)
                    {
                        batch.Add(rows.Row(start + i), pos + i, LLamaSeqId.Zero, outputAll || pos + i == total - 1);
                    }
                    LlamaLog.ClearRecent();
                    LlamaException.CheckDecode(ctx.Decode(batch), n);
                }
                if (allLogits is not null)
                {
                    for (int i = 0; i < n; i++)
                    {
                        allLogits.Add(ctx.GetLogitsIth(i).ToArray());
                    }
                }
                pos += n;
            }
        }
    }

    /// <summary>
    /// Sets the context's thread count for the next calls to <paramref name="threads"/> (null: the configured count) when it
    /// differs from the last one set; returns the count in use.
    /// </summary>
    private int UseThreads(SafeLLamaContextHandle ctx, int? threads)
    {
        int want = threads ?? _options.ResolvedThreads;
        if (want != _appliedThreads)
        {
            ctx.GenerationThreads = want;
            ctx.BatchThreads = want;
            _appliedThreads = want;
        }
        return want;
    }

    /// <summary><c>llama_decode</c> of a token batch; a status other than Ok throws <see cref="LlamaException"/>.</summary>
    private static void Decode(SafeLLamaContextHandle ctx, LLamaBatch batch)
    {
        LlamaLog.ClearRecent();
        LlamaException.CheckDecode(ctx.Decode(batch), batch.TokenCount);
    }

    /// <summary><paramref name="beams"/> logits rows of <paramref name="vocab"/> floats, taken from the decoder's reused rows.</summary>
    private float[][] BeamRows(int beams, int vocab)
    {
        while (_beamRows.Count < beams)
        {
            _beamRows.Add(new float[vocab]);
        }
        return _beamRows.GetRange(0, beams).ToArray();
    }

    private SafeLLamaContextHandle EnsureContext(int cells, int sequences)
    {
        if (_context is null || cells > _contextCells || sequences > _contextSequences)
        {
            _context?.Dispose();
            _context = null;
            int wantCells = Math.Max(cells, _contextCells);
            int wantSeqs = Math.Max(sequences, _contextSequences);
            _context = CreateContext(_model, wantCells, Math.Max(_options.BatchSize, wantSeqs), wantSeqs, _options.ResolvedThreads, _options.ExactNumerics,
                _options.NativeTimings);
            _appliedThreads = _options.ResolvedThreads;
            // llama.cpp caps n_batch at the n_ctx asked for but may report a padded n_ctx: keep the asked size, so a
            // longer prompt later gets a new context instead of a batch larger than n_batch (GGML_ASSERT).
            _contextCells = Math.Min((int)_context.ContextSize, wantCells);
            _contextSequences = wantSeqs;
        }
        return _context;
    }

    /// <summary>
    /// A context of <paramref name="cells"/> KV cells for <paramref name="sequences"/> sequences; <paramref name="exactNumerics"/>:
    /// flash attention off and an F32 KV cache (logits within ~1e-5 of an fp64 reference, slower).
    /// </summary>
    internal static SafeLLamaContextHandle CreateContext(DecoderModel model, int cells, int batchSize, int sequences, int threads, bool exactNumerics,
        bool nativeTimings = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var p = LLamaContextParams.Default();
        p.n_ctx = (uint)cells;
        p.n_batch = (uint)batchSize;
        p.n_ubatch = (uint)batchSize;
        p.n_seq_max = (uint)sequences;
        p.n_threads = threads;
        p.n_threads_batch = threads;
        // Beams share the prompt's cells: with a unified cache llama_memory_seq_cp only tags cells.
        p.kv_unified = sequences > 1;
        p.no_perf = !nativeTimings;
        if (exactNumerics)
        {
            p.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
            p.type_k = GGMLType.GGML_TYPE_F32;
            p.type_v = GGMLType.GGML_TYPE_F32;
        }
        LlamaLog.ClearRecent();
        try
        {
            return SafeLLamaContextHandle.Create(model.Handle, p);
        }
        catch (LLama.Exceptions.RuntimeError e)
        {
            string native = LlamaLog.RecentProblems();
            throw new LlamaException("llama_init_from_model", 0,
                $"llama.cpp could not create a context of {cells} cells x {sequences} sequences: {(native.Length > 0 ? native : e.Message)}");
        }
    }

    public void Dispose()
    {
        _context?.Dispose();
    }

    /// <summary>Turns token bytes into text as they come, holding back incomplete UTF-8 sequences.</summary>
    private sealed class TokenTextStream(DecoderModel model)
    {
        private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();

        public string Push(int token)
        {
            byte[] bytes = model.TokenBytes(token);
            var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
            int n = _utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false);
            return new string(chars, 0, n);
        }
    }
}
