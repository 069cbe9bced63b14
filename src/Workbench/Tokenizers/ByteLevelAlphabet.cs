namespace Workbench.Tokenizers;

/// <summary>
/// GPT-2's reversible byte ↔ printable character map used by byte-level BPE: the 188 printable bytes
/// ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves, the other 68 to U+0100 upwards in byte order
/// (so a space becomes 'Ġ' U+0120 and a newline 'Ċ' U+010A).
/// </summary>
public static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = (char)(printable ? b : next++);
        }
        return map;
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/> written as alphabet characters.</summary>
    public static string Encode(string text)
    {
        int count = System.Text.Encoding.UTF8.GetByteCount(text);
        return string.Create(count, text, (dst, src) =>
        {
            // Encode into the tail of the destination (as bytes), then widen front to back.
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst)[dst.Length..];
            System.Text.Encoding.UTF8.GetBytes(src, bytes);
            for (int i = 0; i < dst.Length; i++) dst[i] = ByteToChar[bytes[i]];
        });
    }

    /// <summary>The byte a character stands for, or false if it is not in the alphabet.</summary>
    public static bool TryGetByte(char c, out byte b) => CharToByte.TryGetValue(c, out b);
}
