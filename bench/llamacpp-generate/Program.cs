// dotnet run -c Release --project bench/llamacpp-generate -- MODEL_DIR [--type f32|f16|q8_0|q4_0] [--max-new-tokens N] [--repeat R]
//
// Greedy decoding from BOS with the KV cache, exactly N new tokens, best of R timed runs after a warm-up, the same
// measurement as `wb bench generate`: first Workbench (BenchGenerateCommand.Run), then llama.cpp through LLamaSharp
// 0.30.0 on the GGUF export of the same folder (`wb export gguf`), both on Workbench's thread count. One JSON line.
using System.Diagnostics;
using System.Text.Json.Nodes;
using LLama;
using LLama.Common;
using LLama.Native;
using Workbench.Cli.Commands;
using Workbench.Engine;
using Workbench.Export.Gguf;
using Workbench.Formats;
using Workbench.Models;

string dir = args[0];
string Flag(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 ? args[i + 1] : fallback;
var type = EnumSpelling.Parse<GgufExportType>(Flag("--type", "f32"), "--type");
int tokens = int.Parse(Flag("--max-new-tokens", "256")), runs = int.Parse(Flag("--repeat", "3"));

var ours = BenchGenerateCommand.Run(CausalLM.Load(dir), tokens, runs);
tokens = ours["new_tokens"]!.GetValue<int>();

var gguf = Path.Combine(Path.GetTempPath(), $"wb-bench-{Guid.NewGuid():N}.gguf");
try
{
    GgufExport.Write(dir, gguf, type);
    NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level >= LLamaLogLevel.Error) Console.Error.Write(message); });
    var p = new ModelParams(gguf) { ContextSize = (uint)(tokens + 1), GpuLayerCount = 0, Threads = Par.Threads, BatchThreads = Par.Threads };
    using var weights = LLamaWeights.LoadFromFile(p);
    using var context = weights.CreateContext(p);
    int bos = ModelConfig.Load(dir).BosTokenId ?? 1;
    double Once()
    {
        context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        var watch = Stopwatch.StartNew();
        batch.Add((LLamaToken)bos, 0, LLamaSeqId.Zero, true);
        for (int step = 0; step < tokens; step++)
        {
            context.NativeHandle.Decode(batch);
            var logits = context.NativeHandle.GetLogitsIth(0);
            int next = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[next]) next = v;
            batch.Clear();
            batch.Add((LLamaToken)next, step + 1, LLamaSeqId.Zero, true);
        }
        return watch.Elapsed.TotalSeconds;
    }
    Once();
    double best = Enumerable.Range(0, runs).Min(_ => Once());
    Console.WriteLine(new JsonObject
    {
        ["model"] = dir, ["gguf_type"] = EnumSpelling.Name(type), ["new_tokens"] = tokens, ["threads"] = Par.Threads,
        ["workbench_tokens_per_second"] = ours["tokens_per_second"]!.GetValue<double>(),
        ["llamacpp_tokens_per_second"] = tokens / best,
    }.ToJsonString());
}
finally { File.Delete(gguf); }
