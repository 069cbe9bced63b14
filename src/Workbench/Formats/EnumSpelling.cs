using System.Text.Json;

namespace Workbench.Formats;

/// <summary>
/// How enum values are spelled in run configs, command-line flags and JSON output, in one place: the member name in
/// snake_case (Lora → lora, Ia3 → ia3, Nf4 → nf4, Bfloat16 → bfloat16); parsing ignores case and takes '-' for '_'.
/// A nullable enum spells null as "none".
/// </summary>
public static class EnumSpelling
{
    public const string NoneName = "none";

    public static string Name(Enum value) => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    /// <summary>The spellings of an enum type's members (with "none" first for a nullable enum).</summary>
    public static IReadOnlyList<string> Names(Type type)
    {
        var names = Enum.GetValues(Nullable.GetUnderlyingType(type) ?? type).Cast<Enum>().Select(Name);
        return Nullable.GetUnderlyingType(type) is null ? names.ToList() : names.Prepend(NoneName).ToList();
    }

    public static string Name<T>(T? value) where T : struct, Enum => value is { } v ? Name(v) : NoneName;

    /// <summary>The member <paramref name="text"/> spells (null for "none" when <paramref name="type"/> is nullable); false when none does.</summary>
    public static bool TryParse(Type type, string text, out object? value)
    {
        var key = text.Trim().ToLowerInvariant().Replace('-', '_');
        value = null;
        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            if (key == NoneName) return true;
            type = inner;
        }
        foreach (Enum e in Enum.GetValues(type))
            if (Name(e) == key) { value = e; return true; }
        return false;
    }

    /// <summary>The member <paramref name="text"/> spells; an error listing the spellings otherwise.</summary>
    public static T Parse<T>(string text, string what) where T : struct, Enum =>
        TryParse(typeof(T), text, out var v) && v is T t ? t
            : throw new ArgumentException($"{what} must be one of {string.Join(", ", Names(typeof(T)))}, not '{text}'");
}
