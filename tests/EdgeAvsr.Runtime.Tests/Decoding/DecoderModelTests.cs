using EdgeAvsr.Runtime.Decoding;
using LLama.Native;
using NativeDecodeResult = LLama.Native.DecodeResult;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>llama.cpp on tiny seeded Llama models against independent references (fp64 forward pass, HF beam search, llama.cpp's sampler).</summary>
public class DecoderModelTests
{
    private static double MaxRelativeError(double[] reference, float[] actual)
    {
        double scale = reference.Max(Math.Abs);
        return reference.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) / scale;
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("avsr-lora-merged")]
    [InlineData("peft-lora-merged")]
    public void Logits_F32Gguf_ExactNumerics_MatchFp64Reference(string which)
    {
        var m = which switch { "plain" => TinyModels.Plain, "peft-lora-merged" => TinyModels.Peft, _ => TinyModels.Base };
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        using var decoder = new LlamaDecoder(model, new DecoderOptions { ExactNumerics = true, Threads = 1 });
        int[] tokens = [model.Bos, .. model.Tokenize("the cat sat on the mat, then ran away: 123 456!")];
        Assert.True(tokens.Length >= 12);
        var actual = decoder.PromptLogits(new DecoderPrompt([PromptSegment.FromTokens(tokens)]));
        var expected = m.Reference.Forward(tokens.Select(m.Reference.EmbeddingRow).ToArray());
        Assert.Equal(expected.Length, actual.Length);
        for (int t = 0; t < tokens.Length; t++)
        {
            double err = MaxRelativeError(expected[t], actual[t]);
            Assert.True(err <= 1e-4, $"position {t}: max |llama.cpp - reference| / max |reference| = {err:E2}");
        }
    }

    [Fact]
    public void EmbeddingBatch_OfTokenRows_GivesTheSameLogitsAsTokens()
    {
        var m = TinyModels.Base;
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        using var decoder = new LlamaDecoder(model, new DecoderOptions { ExactNumerics = true, Threads = 1 });
        int[] tokens = [model.Bos, .. model.Tokenize("hello there, the answer is in the text")];
        var rows = new FloatMatrix(tokens.Length - 1, model.InputWidth);
        for (int i = 1; i < tokens.Length; i++)
        {
            m.Reference.EmbeddingRow(tokens[i]).CopyTo(rows.Row(i - 1));
        }
        var byTokens = decoder.PromptLogits(new DecoderPrompt([PromptSegment.FromTokens(tokens)]));
        var byRows = decoder.PromptLogits(new DecoderPrompt([PromptSegment.FromTokens(tokens[0]), PromptSegment.FromEmbeddings(rows)]));
        Assert.Equal(byTokens.Length, byRows.Length);
        for (int t = 0; t < byTokens.Length; t++)
        {
            double err = MaxRelativeError(byTokens[t].Select(x => (double)x).ToArray(), byRows[t]);
            Assert.True(err <= 1e-6, $"position {t}: embedding batch differs from token batch by {err:E2}");
        }
    }

    [Fact]
    public void AvsrPrompt_IsBosAudioVideoPrompt_AtConsecutivePositions()
    {
        var m = TinyModels.Base;
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        using var decoder = new LlamaDecoder(model, new DecoderOptions { ExactNumerics = true, Threads = 1 });
        var rng = new Random(9);
        FloatMatrix Rows(int n)
        {
            var x = new FloatMatrix(n, model.InputWidth);
            for (int i = 0; i < x.Data.Length; i++)
            {
                x.Data[i] = (float)(rng.NextDouble() - 0.5);
            }
            return x;
        }
        var audio = Rows(7);
        var video = Rows(4);
        var prompt = DecoderPrompt.ForAvsr(model, AvsrTask.Avsr, audio, video);
        var s = model.SpecialTokens;
        var inputs = new List<float[]> { m.Reference.EmbeddingRow(model.Bos), m.Reference.EmbeddingRow(s.AudioStart) };
        inputs.AddRange(Enumerable.Range(0, audio.Rows).Select(r => audio.Row(r).ToArray()));
        inputs.Add(m.Reference.EmbeddingRow(s.AudioEnd));
        inputs.Add(m.Reference.EmbeddingRow(s.VideoStart));
        inputs.AddRange(Enumerable.Range(0, video.Rows).Select(r => video.Row(r).ToArray()));
        inputs.Add(m.Reference.EmbeddingRow(s.VideoEnd));
        inputs.AddRange(model.Tokenize("Transcribe speech and video to text.").Select(m.Reference.EmbeddingRow));
        Assert.Equal(inputs.Count, prompt.Length);
        var expected = m.Reference.Forward(inputs);
        var actual = decoder.PromptLogits(prompt);
        for (int t = 0; t < inputs.Count; t++)
        {
            double err = MaxRelativeError(expected[t], actual[t]);
            Assert.True(err <= 1e-4, $"position {t}: {err:E2}");
        }
        // The first step's logits of a generation are the prompt's last position.
        var result = decoder.Generate(prompt, new GenerationOptions { MaxNewTokens = 1, KeepFirstLogits = true });
        Assert.True(MaxRelativeError(actual[^1].Select(x => (double)x).ToArray(), result.FirstLogits!) <= 1e-6);

        Assert.Throws<EdgeAvsrException>(() => DecoderPrompt.ForAvsr(model, AvsrTask.Asr, null, null));
        Assert.Throws<EdgeAvsrException>(() => DecoderPrompt.ForAvsr(model, AvsrTask.Vsr, audio, video));
        var wide = new FloatMatrix(3, model.InputWidth + 1);
        var e = Assert.Throws<EdgeAvsrException>(() => DecoderPrompt.ForAvsr(model, AvsrTask.Asr, wide, null));
        Assert.Contains($"takes embeddings of width {model.InputWidth}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Greedy_EqualsLlamaCppGreedySampler()
    {
        var m = TinyModels.Base;
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        using var decoder = new LlamaDecoder(model, new DecoderOptions { ExactNumerics = true, Threads = 1 });
        foreach (string text in new[] { "the cat", "in the morning there", "1 2 3" })
        {
            var prompt = DecoderPrompt.ForText(model, text);
            var streamed = new List<int>();
            var ours = decoder.Generate(prompt, new GenerationOptions { MaxNewTokens = 20 }, t => streamed.Add(t.Id));
            Assert.Equal(ours.Tokens, streamed);

            // llama.cpp alone: its own context, its greedy sampler chain (LLamaSharp's SafeLLamaSamplerChainHandle), one token per decode.
            int[] tokens = [model.Bos, .. model.Tokenize(text)];
            using var ctx = LlamaDecoder.CreateContext(model, cells: 256, batchSize: 512, sequences: 1, threads: 1, exactNumerics: true);
            using var sampler = SafeLLamaSamplerChainHandle.Create(LLamaSamplerChainParams.Default());
            sampler.AddGreedySampler();
            var batch = new LLamaBatch();
            for (int i = 0; i < tokens.Length; i++)
            {
                batch.Add(tokens[i], i, LLamaSeqId.Zero, i == tokens.Length - 1);
            }
            Assert.Equal(NativeDecodeResult.Ok, ctx.Decode(batch));
            var theirs = new List<int>();
            for (int step = 0; step < 20; step++)
            {
                int next = (int)sampler.Sample(ctx, -1);
                if (model.IsEndOfGeneration(next))
                {
                    break;
                }
                theirs.Add(next);
                batch.Clear();
                batch.Add(next, tokens.Length + step, LLamaSeqId.Zero, true);
                Assert.Equal(NativeDecodeResult.Ok, ctx.Decode(batch));
            }
            Assert.Equal(theirs, ours.Tokens);
        }
    }

    [Fact]
    public void AdaptiveThreads_SwitchingCountEveryFewTokens_GivesTheFixedPolicysTokensAndLogits()
    {
        var m = TinyModels.Base;
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        var prompt = DecoderPrompt.ForText(model, "the morning light over the hills");
        var generation = new GenerationOptions { MaxNewTokens = 64, StopAtEndOfGeneration = false, KeepFirstLogits = true };
        using var fixedDecoder = new LlamaDecoder(model, new DecoderOptions { Threads = 2, ThreadPolicy = DecoderThreadPolicy.Fixed });
        // A huge budget and no wait: the chooser tries the other count as often as it can.
        using var adaptive = new LlamaDecoder(model, new DecoderOptions
        {
            Threads = 2,
            ThreadChooserFactory = n => new DecoderThreadChooser(n, probeBudget: 1e6, firstWait: TimeSpan.Zero),
        });
        Assert.Null(fixedDecoder.ThreadChooser);
        var expected = fixedDecoder.Generate(prompt, generation);
        var actual = adaptive.Generate(prompt, generation);
        Assert.True(adaptive.ThreadChooser!.Tries >= 8, $"{adaptive.ThreadChooser.Tries} tries");
        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(expected.FirstLogits, actual.FirstLogits);
        Assert.Equal(expected.Score, actual.Score);
    }

    [Fact]
    public async Task StreamAsync_YieldsTheGeneratedTokensInOrder()
    {
        var m = TinyModels.Base;
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        using var decoder = new LlamaDecoder(model, new DecoderOptions { Threads = 1 });
        var prompt = DecoderPrompt.ForText(model, "the morning");
        var generation = new GenerationOptions { MaxNewTokens = 12 };
        var expected = decoder.Generate(prompt, generation);
        var streamed = new List<DecodedToken>();
        await foreach (var t in decoder.StreamAsync(prompt, generation))
        {
            streamed.Add(t);
        }
        Assert.Equal(expected.Tokens, streamed.Select(t => t.Id));
        // A random model emits arbitrary bytes: the stream holds back incomplete UTF-8, so text is compared when valid.
        if (!expected.Text.Contains('\uFFFD', StringComparison.Ordinal))
        {
            Assert.Equal(expected.Text, string.Concat(streamed.Select(t => t.Text)));
        }
    }

    [Theory]
    [InlineData(2, 6)]
    [InlineData(4, 8)]
    [InlineData(15, 5)]
    public void BeamSearch_EqualsReferenceBeamSearch_DrivingLlamaCpp(int beams, int maxNew)
    {
        var m = TinyModels.Base;
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        using var decoder = new LlamaDecoder(model, new DecoderOptions { ExactNumerics = true, Threads = 1 });
        using var scratch = new LlamaDecoder(model, new DecoderOptions { ExactNumerics = true, Threads = 1 });
        var rng = new Random(beams);
        var audio = new FloatMatrix(5, model.InputWidth);
        for (int i = 0; i < audio.Data.Length; i++)
        {
            audio.Data[i] = (float)(rng.NextDouble() - 0.5);
        }
        var prompt = DecoderPrompt.ForAvsr(model, AvsrTask.Asr, audio, null);
        var ours = decoder.Generate(prompt, new GenerationOptions { Beams = beams, MaxNewTokens = maxNew });

        // Reference: every prefix recomputed from scratch (no KV sharing), the HF algorithm written out plainly.
        var cache = new Dictionary<string, float[]>();
        float[] Next(int[] generated)
        {
            string key = string.Join(',', generated);
            if (!cache.TryGetValue(key, out var logits))
            {
                var segments = prompt.Segments.ToList();
                if (generated.Length > 0)
                {
                    segments.Add(PromptSegment.FromTokens(generated));
                }
                logits = scratch.PromptLogits(new DecoderPrompt(segments))[^1];
                cache[key] = logits;
            }
            return logits;
        }
        var expected = ReferenceBeamSearch.Run(Next, model.VocabularySize, new HashSet<int>(model.EndOfGeneration), beams, maxNew);
        Assert.Equal(expected.Tokens, ours.Tokens);
        Assert.Equal(expected.Score, ours.Score, 4);
    }
}
