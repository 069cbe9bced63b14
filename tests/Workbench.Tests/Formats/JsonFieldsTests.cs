using System.Text.Json.Nodes;
using Workbench.Formats;

namespace Workbench.Tests.Formats;

public class JsonFieldsTests
{
    private sealed class CustomException(string file, string? field, string problem) : Exception(problem)
    {
        public (string File, string? Field) Where { get; } = (file, field);
    }

    private static JsonFields Read(string json) => JsonFields.Parse(json, "/m/x.json");

    [Fact]
    public void AbsentAndNullFieldsReadAsNullAndTakeTheFallback()
    {
        var f = Read("""{"a": null}""");
        Assert.Null(f.String("a"));
        Assert.Null(f.Int("missing"));
        Assert.Null(f.StringList("a"));
        Assert.Null(f.Object("a"));
        Assert.False(f.Has("a"));
        Assert.Equal(["a"], f.Names);
        Assert.Equal((7, 0.5, true, "d"), (f.Int("a", 7), f.Double("a", 0.5), f.Bool("missing", true), f.String("a", "d")));
        Assert.Empty(f.Map("a", n => n.GetValue<int>()));
        f.RequireNull("a");
        f.RequireNull("missing");
    }

    [Fact]
    public void TypedValuesRead()
    {
        var f = Read("""{"s": "x", "b": false, "i": 4096.0, "l": 4294967295, "d": 1e-5, "ss": ["p", "q"], "one": 2, "many": [1, 107], "m": {"q": 4}, "e": []}""");
        Assert.Equal(("x", false, 4096, 4294967295L, 1e-5), (f.String("s"), f.Bool("b"), f.Int("i"), f.Long("l"), f.Double("d")));
        Assert.Equal(["p", "q"], f.StringList("ss"));
        Assert.Equal([2], f.IntList("one")!);
        Assert.Equal([1, 107], f.IntList("many")!);
        Assert.Equal(4, f.Map("m", n => n.GetValue<int>())["q"]);
        f.RequireNull("e");
    }

    [Theory]
    [InlineData("""{"f": "64"}""", "Int", "expected an integer, found \"64\"")]
    [InlineData("""{"f": 8.5}""", "Int", "expected an integer, found 8.5")]
    [InlineData("""{"f": 3000000000}""", "Int", "expected an integer, found 3000000000")]
    [InlineData("""{"f": "yes"}""", "Bool", "expected true or false, found \"yes\"")]
    [InlineData("""{"f": true}""", "Double", "expected a number, found true")]
    [InlineData("""{"f": 1}""", "String", "expected a string, found 1")]
    [InlineData("""{"f": ["a", 1]}""", "StringList", "expected a list of strings, found [\"a\",1]")]
    [InlineData("""{"f": [1, "2"]}""", "IntList", "expected an integer or a list of integers, found [1,\"2\"]")]
    [InlineData("""{"f": {"q": "r"}}""", "Map", "expected an object, found {\"q\":\"r\"}")]
    [InlineData("""{"f": "linear"}""", "Object", "expected an object, found \"linear\"")]
    [InlineData("""{"f": ["q_proj"]}""", "RequireNull", "[\"q_proj\"] is not supported (only null)")]
    public void WrongTypesNameTheFileAndTheField(string json, string reader, string problem)
    {
        var f = Read(json);
        Action read = reader switch
        {
            "Int" => () => f.Int("f"),
            "Bool" => () => f.Bool("f"),
            "Double" => () => f.Double("f"),
            "String" => () => f.String("f"),
            "StringList" => () => f.StringList("f"),
            "IntList" => () => f.IntList("f"),
            "Map" => () => f.Map("f", n => n.GetValue<int>()),
            "Object" => () => f.Object("f"),
            _ => () => f.RequireNull("f"),
        };
        Assert.Equal($"/m/x.json: field 'f': {problem}", Assert.Throws<FormatException>(read).Message);
    }

    [Fact]
    public void NestedObjectsNameTheirFieldsByPathAndCallersKeepTheirExceptionType()
    {
        var f = new JsonFields((JsonObject)JsonNode.Parse("""{"rope_scaling": {"factor": "x"}}""")!, "c.json",
            (file, field, problem) => new CustomException(file, field, problem));
        var e = Assert.Throws<CustomException>(() => f.Object("rope_scaling")!.Double("factor"));
        Assert.Equal(("c.json", "rope_scaling.factor"), e.Where);
        Assert.Equal("is required but missing", f.Object("rope_scaling")!.Missing("type").Message);
        Assert.Equal("field 'a': b", JsonFields.Describe("a", "b"));
    }

    [Fact]
    public void ParseNamesTheFileForMalformedJsonAndOtherValues()
    {
        Assert.StartsWith("/m/x.json: not valid JSON", Assert.Throws<FormatException>(() => Read("{\"a\": 1,, }")).Message);
        Assert.Equal("/m/x.json: expected a JSON object, found Array", Assert.Throws<FormatException>(() => Read("[1]")).Message);
        Assert.Equal(1, Read("{\"a\": 1,}").Int("a"));                                     // trailing commas allowed, as in config.json
    }
}
