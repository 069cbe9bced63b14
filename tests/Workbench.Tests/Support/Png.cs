using System.Buffers.Binary;
using System.IO.Compression;

namespace Workbench.Tests.Support;

/// <summary>A minimal PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium screenshots are) for pixel checks.</summary>
public static class Png
{
    public static List<(byte R, byte G, byte B)> ReadRgb(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        int width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        for (int at = 8; at < file.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(file, at + 4, 4);
            var data = file.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                if (data[8] != 8 || data[12] != 0) throw new NotSupportedException($"{path}: bit depth {data[8]}, interlace {data[12]}");
                channels = data[9] switch { 2 => 3, 6 => 4, var c => throw new NotSupportedException($"{path}: colour type {c}") };
            }
            else if (type == "IDAT") idat.Write(data);
            at += 12 + length;
        }
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(inflated);
        byte[] raw = inflated.ToArray();

        int stride = width * channels;
        var previous = new byte[stride];
        var row = new byte[stride];
        var pixels = new List<(byte, byte, byte)>(width * height);
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            var line = raw.AsSpan(y * (stride + 1) + 1, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? row[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
                // Reconstruction per filter type (PNG spec §9.2): None, Sub, Up, Average, Paeth.
                int predictor = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, 4 => Paeth(a, b, c), _ => throw new InvalidDataException($"filter {filter}") };
                row[i] = (byte)(line[i] + predictor);
            }
            for (int x = 0; x < width; x++) pixels.Add((row[x * channels], row[x * channels + 1], row[x * channels + 2]));
            (previous, row) = (row, previous);
        }
        return pixels;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
