import Foundation

/// Escaping for XML text and attribute values (SVG and HTML share it). Pure, O(n).
public enum Markup {
    /// Escapes `&`, `<`, `>` (text content). Control characters other than tab, LF and CR are
    /// dropped: XML 1.0 cannot carry them at all.
    public static func text(_ s: String) -> String { escape(s, quotes: false) }
    /// Escapes text plus `"` and `'`, for a value inside either kind of quotes.
    public static func attribute(_ s: String) -> String { escape(s, quotes: true) }

    static func escape(_ s: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "'" where quotes: out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0x7F || (0xFFFE...0xFFFF).contains(u.value) { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// A number for an attribute: fixed decimals, no exponent, no "-0", never NaN (→ 0).
    public static func number(_ x: Double, decimals: Int = 2) -> String {
        guard x.isFinite else { return "0" }
        var s = String(format: "%.\(max(0, decimals))f", x)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }
}

/// A small SVG writer: shapes appended in drawing order, rendered as one `<svg>` element that can
/// be inlined into HTML or saved as a file. Every text and attribute value is escaped here, so
/// callers pass plain strings. Value type, no I/O.
public struct SVG: Sendable {
    public let width: Double
    public let height: Double
    public private(set) var elements: [String] = []
    /// Written as `<title>` (tooltips and accessibility).
    public var title: String?

    public init(width: Double, height: Double, title: String? = nil) {
        self.width = width; self.height = height; self.title = title
    }

    /// Presentation attributes; nil ones are omitted.
    public struct Style: Sendable {
        public var fill: String?
        public var stroke: String?
        public var strokeWidth: Double?
        public var opacity: Double?
        public var dash: String?
        public init(fill: String? = nil, stroke: String? = nil, strokeWidth: Double? = nil, opacity: Double? = nil, dash: String? = nil) {
            self.fill = fill; self.stroke = stroke; self.strokeWidth = strokeWidth; self.opacity = opacity; self.dash = dash
        }
        var attributes: String {
            var a = ""
            a += " fill=\"\(Markup.attribute(fill ?? "none"))\""
            if let stroke { a += " stroke=\"\(Markup.attribute(stroke))\"" }
            if let strokeWidth { a += " stroke-width=\"\(Markup.number(strokeWidth))\"" }
            if let opacity { a += " opacity=\"\(Markup.number(opacity, decimals: 3))\"" }
            if let dash { a += " stroke-dasharray=\"\(Markup.attribute(dash))\"" }
            return a
        }
    }

    static func tooltip(_ t: String?) -> String { t.map { "<title>\(Markup.text($0))</title>" } ?? "" }

    static func element(_ name: String, _ attrs: String, tooltip: String?) -> String {
        if let tooltip { return "<\(name)\(attrs)>\(Self.tooltip(tooltip))</\(name)>" }
        return "<\(name)\(attrs)/>"
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, style: Style, rx: Double = 0, tooltip: String? = nil) {
        let n = Markup.number
        elements.append(Self.element("rect", " x=\"\(n(x, 2))\" y=\"\(n(y, 2))\" width=\"\(n(max(0, width), 2))\" height=\"\(n(max(0, height), 2))\""
                                     + (rx > 0 ? " rx=\"\(n(rx, 2))\"" : "") + style.attributes, tooltip: tooltip))
    }

    public mutating func circle(cx: Double, cy: Double, r: Double, style: Style, tooltip: String? = nil) {
        let n = Markup.number
        elements.append(Self.element("circle", " cx=\"\(n(cx, 2))\" cy=\"\(n(cy, 2))\" r=\"\(n(max(0, r), 2))\"" + style.attributes, tooltip: tooltip))
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, style: Style) {
        let n = Markup.number
        elements.append("<line x1=\"\(n(x1, 2))\" y1=\"\(n(y1, 2))\" x2=\"\(n(x2, 2))\" y2=\"\(n(y2, 2))\"" + style.attributes + "/>")
    }

    static func points(_ ps: [(x: Double, y: Double)]) -> String {
        ps.map { Markup.number($0.x, decimals: 1) + "," + Markup.number($0.y, decimals: 1) }.joined(separator: " ")
    }

    public mutating func polyline(_ ps: [(x: Double, y: Double)], style: Style, tooltip: String? = nil) {
        guard ps.count >= 2 else { return }
        elements.append(Self.element("polyline", " points=\"\(Self.points(ps))\" stroke-linejoin=\"round\" stroke-linecap=\"round\"" + style.attributes, tooltip: tooltip))
    }

    public mutating func polygon(_ ps: [(x: Double, y: Double)], style: Style, tooltip: String? = nil) {
        guard ps.count >= 3 else { return }
        elements.append(Self.element("polygon", " points=\"\(Self.points(ps))\"" + style.attributes, tooltip: tooltip))
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    public mutating func text(_ s: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                              fill: String = "#222", bold: Bool = false, rotate: Double? = nil, halo: String? = nil) {
        let n = Markup.number
        var a = " x=\"\(n(x, 2))\" y=\"\(n(y, 2))\" font-size=\"\(n(size, 2))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(Markup.attribute(fill))\""
        if bold { a += " font-weight=\"bold\"" }
        // A halo: the stroke is painted under the fill, so labels stay readable over lines.
        if let halo { a += " stroke=\"\(Markup.attribute(halo))\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\"" }
        if let rotate { a += " transform=\"rotate(\(n(rotate, 2)) \(n(x, 2)) \(n(y, 2)))\"" }
        elements.append("<text\(a)>\(Markup.text(s))</text>")
    }

    /// The whole `<svg>` element (with `xmlns`, so the same text works as a standalone file).
    public func render() -> String {
        let n = Markup.number
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width, 0))\" height=\"\(n(height, 0))\" viewBox=\"0 0 \(n(width, 2)) \(n(height, 2))\""
            + " font-family=\"Helvetica, Arial, sans-serif\" role=\"img\">"
        if let title { out += "<title>\(Markup.text(title))</title>" }
        for e in elements { out += e; out += "\n" }
        return out + "</svg>"
    }
}
