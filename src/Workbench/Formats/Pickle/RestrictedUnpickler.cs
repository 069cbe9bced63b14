using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Workbench.Formats.Pickle;

/// <summary>
/// A pickle reader that understands only what <c>torch.save(state_dict)</c> writes, and never runs anything. A
/// general unpickler imports any <c>module.name</c> the file asks for and calls it (REDUCE), which lets a file run
/// <c>os.system</c> or <c>eval</c>; this one knows a fixed list of globals and builds plain values from them:
/// <list type="bullet">
/// <item><c>collections.OrderedDict()</c> → <see cref="PickleDict"/> (its BUILD state, such as <c>_metadata</c>, is dropped);</item>
/// <item><c>torch._utils._rebuild_tensor_v2</c> / <c>_rebuild_tensor</c> → <see cref="TorchTensor"/>; <c>_rebuild_parameter</c> → its tensor;</item>
/// <item><c>torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage</c> → a dtype, only inside a
/// persistent id <c>('storage', type, key, location, numel[, view])</c> (BINPERSID).</item>
/// </list>
/// Any other global is refused as soon as it is named, and REDUCE/BUILD apply only to those globals, so a
/// nested reduce (calling what a call returned) is refused too. Opcodes are those of pickle protocols 0–5 that such
/// files use; any other (INST, OBJ, NEWOBJ, EXT*, PERSID, …) is refused by name.
/// </summary>
public sealed class RestrictedUnpickler
{
    private static readonly Dictionary<string, string> StorageDTypes = new()
    {
        ["FloatStorage"] = "F32", ["HalfStorage"] = "F16", ["BFloat16Storage"] = "BF16", ["DoubleStorage"] = "F64",
        ["LongStorage"] = "I64", ["IntStorage"] = "I32", ["ShortStorage"] = "I16", ["CharStorage"] = "I8",
        ["ByteStorage"] = "U8", ["BoolStorage"] = "BOOL",
    };

    private static readonly HashSet<string> Callables =
        ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter"];

    private sealed class Mark;
    private static readonly Mark MarkObject = new();

    private readonly string _file;
    private readonly Stream _input;

    private RestrictedUnpickler(string file, Stream input)
    {
        _file = file;
        _input = input;
    }

    /// <summary>Reads one pickle from <paramref name="input"/>, up to and including its STOP.</summary>
    public static object? Load(Stream input, string file) => new RestrictedUnpickler(file, input).Run();

    private object? Run()
    {
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new Dictionary<long, object?>();
        while (true)
        {
            int op = _input.ReadByte();
            switch (op)
            {
                case -1: throw Fail("ends before its STOP opcode");
                case 0x80: ReadByte(); break;                                             // PROTO n
                case 0x95: ReadBytes(8); break;                                           // FRAME (length only)
                case (byte)'.': return Pop(stack);                                        // STOP
                case (byte)'(': marks.Push(stack.Count); stack.Add(MarkObject); break;    // MARK
                case (byte)'}': stack.Add(new PickleDict()); break;                       // EMPTY_DICT
                case (byte)']': stack.Add(new List<object?>()); break;                    // EMPTY_LIST
                case (byte)')': stack.Add(Array.Empty<object?>()); break;                 // EMPTY_TUPLE
                case (byte)'N': stack.Add(null); break;                                   // NONE
                case 0x88: stack.Add(true); break;                                        // NEWTRUE
                case 0x89: stack.Add(false); break;                                       // NEWFALSE
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break;  // BININT
                case (byte)'K': stack.Add((long)ReadByte()); break;                       // BININT1
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: stack.Add(Long(ReadBytes(ReadByte()))); break;                 // LONG1
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break;           // BINFLOAT
                case (byte)'X': stack.Add(Utf8(ReadBytes(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))))); break; // BINUNICODE
                case 0x8c: stack.Add(Utf8(ReadBytes(ReadByte()))); break;                 // SHORT_BINUNICODE
                case 0x8d: stack.Add(Utf8(ReadBytes(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8)))))); break; // BINUNICODE8
                case (byte)'T': stack.Add(Latin1(ReadBytes(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))))); break; // BINSTRING
                case (byte)'U': stack.Add(Latin1(ReadBytes(ReadByte()))); break;          // SHORT_BINSTRING
                case (byte)'B': stack.Add(ReadBytes(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))))); break; // BINBYTES
                case (byte)'C': stack.Add(ReadBytes(ReadByte())); break;                  // SHORT_BINBYTES
                case (byte)'t': stack.Add(PopToMark(stack, marks).ToArray()); break;      // TUPLE
                case 0x85: stack.Add(new[] { Pop(stack) }); break;                        // TUPLE1
                case 0x86: { var b = Pop(stack); var a = Pop(stack); stack.Add(new[] { a, b }); break; }              // TUPLE2
                case 0x87: { var c = Pop(stack); var b = Pop(stack); var a = Pop(stack); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': stack.Add(PopToMark(stack, marks)); break;                // LIST
                case (byte)'d': stack.Add(Pairs(PopToMark(stack, marks))); break;        // DICT
                case (byte)'a': { var v = Pop(stack); ListAt(stack).Add(v); break; }      // APPEND
                case (byte)'e': { var items = PopToMark(stack, marks); ListAt(stack).AddRange(items); break; } // APPENDS
                case (byte)'s': { var v = Pop(stack); var k = Pop(stack); DictAt(stack).Add(new(Key(k), v)); break; } // SETITEM
                case (byte)'u': { var items = PopToMark(stack, marks); DictAt(stack).AddRange(Pairs(items)); break; }  // SETITEMS
                case (byte)'q': memo[ReadByte()] = Top(stack); break;                     // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Top(stack); break; // LONG_BINPUT
                case 0x94: memo[memo.Count] = Top(stack); break;                          // MEMOIZE
                case (byte)'h': stack.Add(Memo(memo, ReadByte())); break;                 // BINGET
                case (byte)'j': stack.Add(Memo(memo, BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET
                case (byte)'c': stack.Add(Global(ReadLine(), ReadLine())); break;         // GLOBAL
                case 0x93: { var name = Pop(stack); var module = Pop(stack); stack.Add(Global(module as string, name as string)); break; } // STACK_GLOBAL
                case (byte)'R': { var args = Pop(stack); var f = Pop(stack); stack.Add(Reduce(f, args)); break; }  // REDUCE
                case (byte)'b': { Pop(stack); if (Top(stack) is not PickleDict) throw Fail("BUILD on something that is not an OrderedDict"); break; } // BUILD
                case 'Q': stack.Add(PersistentId(Pop(stack))); break;                     // BINPERSID
                default: throw Fail($"opcode 0x{op:x2} ({OpcodeName(op)}) is not one torch.save writes for a state dict; refused");
            }
        }
    }

    private object Global(string? module, string? name)
    {
        if (module is null || name is null) throw Fail("STACK_GLOBAL without a module and name string");
        var global = new PickleGlobal(module, name);
        bool storage = module == "torch" && StorageDTypes.ContainsKey(name);
        if (!storage && !Callables.Contains(global.ToString()))
            throw Fail($"refused global '{global}': only OrderedDict, torch tensor rebuilds and storage types are allowed in a state dict");
        return global;
    }

    private object? Reduce(object? function, object? args)
    {
        if (function is not PickleGlobal g || !Callables.Contains(g.ToString()))
            throw Fail($"REDUCE of {Describe(function)}: only OrderedDict and torch tensor rebuilds may be called");
        if (args is not object?[] a) throw Fail($"REDUCE of {g} with arguments that are not a tuple");
        switch (g.Name)
        {
            case "OrderedDict" when a.Length == 0: return new PickleDict();
            case "_rebuild_tensor_v2" or "_rebuild_tensor" when a.Length >= 4 && a[0] is TorchStorage s && a[1] is long offset:
                var shape = Ints(a[2], g).Select(v => checked((int)v)).ToArray();
                return new TorchTensor(s, offset, shape, Ints(a[3], g));
            case "_rebuild_parameter" when a.Length >= 1 && a[0] is TorchTensor t: return t;
            default: throw Fail($"REDUCE of {g} with arguments it does not take in a state dict ({a.Length} given)");
        }
    }

    private TorchStorage PersistentId(object? pid)
    {
        if (pid is object?[] { Length: >= 5 } p && p[0] is "storage" && p[1] is PickleGlobal { Module: "torch" } type
            && StorageDTypes.TryGetValue(type.Name, out var dtype) && p[2] is string key && p[4] is long numel)
            return new TorchStorage(dtype, key, numel);
        throw Fail($"persistent id {Describe(pid)} is not a torch storage ('storage', type, key, location, numel)");
    }

    private long[] Ints(object? value, PickleGlobal g) => value is object?[] items && items.All(i => i is long)
        ? items.Select(i => (long)i!).ToArray()
        : throw Fail($"{g}: size and stride must be tuples of integers");

    private static string Describe(object? v) => v switch
    {
        null => "None",
        PickleGlobal g => g.ToString(),
        object?[] t => $"a tuple of {t.Length}",
        _ => $"a {v.GetType().Name} value",
    };

    private static object Key(object? k) => k ?? throw new InvalidDataException("None as a dict key");

    private PickleDict Pairs(List<object?> items)
    {
        if (items.Count % 2 != 0) throw Fail("a dict with an odd number of keys and values");
        var d = new PickleDict();
        for (int i = 0; i < items.Count; i += 2) d.Add(new(items[i] ?? throw Fail("None as a dict key"), items[i + 1]));
        return d;
    }

    private object? Pop(List<object?> stack)
    {
        if (stack.Count == 0 || stack[^1] is Mark) throw Fail("the pickle stack underflows");
        var v = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    private object? Top(List<object?> stack) => stack.Count > 0 ? stack[^1] : throw Fail("the pickle stack is empty");

    private List<object?> PopToMark(List<object?> stack, Stack<int> marks)
    {
        if (marks.Count == 0) throw Fail("no MARK to pop to");
        int at = marks.Pop();
        var items = stack.GetRange(at + 1, stack.Count - at - 1);
        stack.RemoveRange(at, stack.Count - at);
        return items;
    }

    private List<object?> ListAt(List<object?> stack) => Top(stack) as List<object?> ?? throw Fail("APPEND to something that is not a list");
    private PickleDict DictAt(List<object?> stack) => Top(stack) as PickleDict ?? throw Fail("SETITEM on something that is not a dict");

    private object? Memo(Dictionary<long, object?> memo, long key) =>
        memo.TryGetValue(key, out var v) ? v : throw Fail($"memo key {key} was never stored");

    private int ReadByte() => _input.ReadByte() is var b and >= 0 ? b : throw Fail("ends inside an opcode");

    private byte[] ReadBytes(int n)
    {
        // a length field is not trusted with an allocation bigger than what is left of the file
        if (n < 0 || (_input.CanSeek && n > _input.Length - _input.Position))
            throw Fail($"an opcode's argument claims {n} bytes, more than the file has left");
        var buffer = new byte[n];
        if (_input.ReadAtLeast(buffer, n, throwOnEndOfStream: false) < n) throw Fail("ends inside an opcode's argument");
        return buffer;
    }

    private string ReadLine()
    {
        var bytes = new List<byte>();
        for (int b = ReadByte(); b != '\n'; b = ReadByte()) bytes.Add((byte)b);
        return Encoding.ASCII.GetString(bytes.ToArray());
    }

    /// <summary>LONG1: a little-endian two's-complement integer of n bytes.</summary>
    private object Long(byte[] bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private static string Utf8(byte[] b) => Encoding.UTF8.GetString(b);
    private static string Latin1(byte[] b) => Encoding.Latin1.GetString(b);

    private PickleException Fail(string problem) => new(_file, $"pickle: {problem}");

    private static string OpcodeName(int op) => op switch
    {
        'i' => "INST", 'o' => "OBJ", 0x81 => "NEWOBJ", 0x92 => "NEWOBJ_EX", 'P' => "PERSID", 0x82 or 0x83 or 0x84 => "EXT",
        'I' => "INT", 'L' => "LONG", 'F' => "FLOAT", 'S' => "STRING", 'V' => "UNICODE", 'g' => "GET", 'p' => "PUT",
        0x8f => "EMPTY_SET", 0x90 => "ADDITEMS", 0x91 => "FROZENSET", 0x96 => "BYTEARRAY8", 0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER", '0' => "POP", '1' => "POP_MARK", '2' => "DUP",
        _ => "unknown",
    };
}
