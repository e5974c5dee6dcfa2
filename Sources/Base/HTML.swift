/// A small HTML writer for self-contained reports: one document, inline CSS, no scripts and no
/// external resources, so the file reads offline. Text is escaped on the way in; `raw` is for
/// already-rendered markup (an `SVG`). Value type, no I/O.
public struct HTMLDocument: Sendable {
    public var title: String
    public var css: String
    public private(set) var body: [String] = []

    public init(title: String, css: String = "") { self.title = title; self.css = css }

    public mutating func heading(_ text: String, level: Int = 2, id: String? = nil) {
        let l = min(6, max(1, level))
        body.append("<h\(l)\(id.map { " id=\"\(Markup.attribute($0))\"" } ?? "")>\(Markup.text(text))</h\(l)>")
    }

    public mutating func paragraph(_ text: String, cssClass: String? = nil) {
        body.append("<p\(cssClass.map { " class=\"\(Markup.attribute($0))\"" } ?? "")>\(Markup.text(text))</p>")
    }

    /// Already-escaped markup (e.g. `SVG.render()`); never pass user text here.
    public mutating func raw(_ markup: String) { body.append(markup) }

    /// Opens / closes a `<div class=…>` around what is appended in between.
    public mutating func open(_ cssClass: String) { body.append("<div class=\"\(Markup.attribute(cssClass))\">") }
    public mutating func close() { body.append("</div>") }

    /// A table; `numeric` columns are right-aligned. Rows shorter than the header are padded.
    /// `emphasised` rows (indices) are bold (e.g. a total).
    public mutating func table(headers: [String], rows: [[String]], numeric: Set<Int> = [], emphasised: Set<Int> = [], caption: String? = nil) {
        var t = "<table>"
        if let caption { t += "<caption>\(Markup.text(caption))</caption>" }
        t += "<thead><tr>"
        for (i, h) in headers.enumerated() { t += "<th\(numeric.contains(i) ? " class=\"num\"" : "")>\(Markup.text(h))</th>" }
        t += "</tr></thead><tbody>"
        for (r, row) in rows.enumerated() {
            t += emphasised.contains(r) ? "<tr class=\"total\">" : "<tr>"
            for i in 0..<max(headers.count, row.count) {
                let cell = i < row.count ? row[i] : ""
                t += "<td\(numeric.contains(i) ? " class=\"num\"" : "")>\(Markup.text(cell))</td>"
            }
            t += "</tr>"
        }
        body.append(t + "</tbody></table>")
    }

    public func render() -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Markup.text(title))</title>
        <style>\(css.replacingOccurrences(of: "</", with: "<\\/"))</style>
        </head><body>
        \(body.joined(separator: "\n"))
        </body></html>

        """
    }
}
