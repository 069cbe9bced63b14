using System.Buffers;
using System.Text.Unicode;

namespace Workbench.Formats;

/// <summary>Text that is not UTF-8; the message names the file (or stream), the line and the byte offset.</summary>
public sealed class InvalidTextException(string message) : FormatException(message);

/// <summary>
/// Every text input is read as strict UTF-8: a byte sequence that is not UTF-8 is an error, not U+FFFD (a CP949
/// Korean file decoded leniently would train or score on replacement characters without a word). A leading
/// UTF-8 byte-order mark is skipped.
/// </summary>
public static class TextFile
{
    private static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    public static string ReadAll(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>A reader over the whole file, decoded and checked first (line by line reading as with a StreamReader).</summary>
    public static TextReader OpenReader(string path) => new StringReader(ReadAll(path));

    public static IEnumerable<string> ReadLines(string path)
    {
        using var reader = OpenReader(path);
        for (string? line; (line = reader.ReadLine()) is not null;) yield return line;
    }

    /// <summary>UTF-8 bytes as text; <paramref name="origin"/> names them in the error (a file, "stdin", a header).</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string origin)
    {
        if (bytes.StartsWith(ByteOrderMark)) bytes = bytes[ByteOrderMark.Length..];
        var chars = ArrayPool<char>.Shared.Rent(bytes.Length);
        try
        {
            var status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
            if (status == OperationStatus.Done) return new string(chars, 0, written);
            int line = 1 + bytes[..read].Count((byte)'\n');
            throw new InvalidTextException($"{origin}:{line}: not UTF-8 (byte 0x{bytes[read]:X2} at offset {read}); save the text as UTF-8 (e.g. iconv -f cp949 -t utf-8)");
        }
        finally { ArrayPool<char>.Shared.Return(chars); }
    }
}
