using System.Text;
using Workbench.Formats;

namespace Workbench.Data.FewShot;

/// <summary>One labelled row of a TSV file: the file, its 1-based line (the header is line 1), id, text and label.</summary>
public sealed record LabeledDocument(string Source, int Line, string Id, string Text, string Label);

/// <summary>The rows of a TSV file and the lines of the rows skipped because their text was empty.</summary>
public sealed record TsvDocuments(string Path, IReadOnlyList<LabeledDocument> Documents, IReadOnlyList<int> EmptyLines)
{
    /// <summary>
    /// Reads <c>id&lt;TAB&gt;text&lt;TAB&gt;label</c>-style files with a header naming the columns. Fields are
    /// taken verbatim (no quoting: the seed reads NSMC with pandas <c>quoting=3</c>). Rows whose text is empty
    /// are skipped and listed, as the seed's <c>dropna()</c> drops them (NSMC has 5 in train, 3 in test; the
    /// other strings pandas reads as NaN, e.g. "NA" or "null", do not occur in NSMC).
    /// </summary>
    public static TsvDocuments Read(string path, string idColumn, string textColumn, string labelColumn)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"TSV file not found: {path}", path);
        using var reader = TextFile.OpenReader(path);
        string header = reader.ReadLine() ?? throw new DataFormatException(new DataIssue(path, 1, "file is empty; expected a header line"));
        var columns = header.Split('\t');
        int Column(string name)
        {
            int i = Array.IndexOf(columns, name);
            if (i < 0) throw new DataFormatException(new DataIssue(path, 1, $"header has no column '{name}' (columns: {string.Join(", ", columns)})"));
            return i;
        }
        int idCol = Column(idColumn), textCol = Column(textColumn), labelCol = Column(labelColumn);

        var docs = new List<LabeledDocument>();
        var empty = new List<int>();
        int lineNo = 1;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0) continue;
            var fields = line.Split('\t');
            if (fields.Length != columns.Length)
                throw new DataFormatException(new DataIssue(path, lineNo, $"expected {columns.Length} tab-separated fields, found {fields.Length}"));
            if (fields[textCol].Length == 0) { empty.Add(lineNo); continue; }
            docs.Add(new LabeledDocument(path, lineNo, fields[idCol], fields[textCol], fields[labelCol]));
        }
        return new TsvDocuments(path, docs, empty);
    }
}
