namespace Stedi.Cli.Report;

/// <summary>
/// The one-file HTML report: the page template (<c>report.html</c>, inline CSS and script, no network) with the
/// <see cref="ReportModel"/> embedded as JSON in its <c>#report-data</c> element; the page's script draws the flow
/// diagrams and charts from that JSON as SVG.
/// </summary>
internal static class HtmlReport
{
    /// <summary>The placeholder in the template that the model's JSON replaces.</summary>
    public const string Placeholder = "/*REPORT_DATA*/";

    private static readonly Lazy<string> Template = new(() =>
    {
        using var stream = typeof(HtmlReport).Assembly.GetManifestResourceStream("Stedi.Cli.Report.report.html")
                           ?? throw new InvalidOperationException("the report template is not embedded in the stedi assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The page for a model.</summary>
    public static string Render(ReportModel model)
    {
        // The serializer's default encoder escapes <, > and &, so the JSON cannot close the script element.
        return Template.Value.Replace(Placeholder, model.ToJson(), StringComparison.Ordinal);
    }

    /// <summary>The JSON embedded in a page made by <see cref="Render"/>.</summary>
    /// <exception cref="FormatException">The page has no report data.</exception>
    public static string ExtractJson(string html)
    {
        const string open = "<script type=\"application/json\" id=\"report-data\">";
        var start = html.IndexOf(open, StringComparison.Ordinal);
        var end = start < 0 ? -1 : html.IndexOf("</script>", start, StringComparison.Ordinal);
        if (start < 0 || end < 0) throw new FormatException("no #report-data element in the page");
        return html[(start + open.Length)..end];
    }
}
