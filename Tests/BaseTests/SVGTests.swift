import Testing
@testable import Base

@Suite struct MarkupEscapingTests {
    @Test func textEscapesTheThreeMarkupCharacters() {
        #expect(Markup.text("a<b & c>d") == "a&lt;b &amp; c&gt;d")
        #expect(Markup.text("\"quoted\" 'single'") == "\"quoted\" 'single'")
    }

    @Test func attributesEscapeQuotesToo() {
        #expect(Markup.attribute("x\" onload=\"alert(1)") == "x&quot; onload=&quot;alert(1)")
        #expect(Markup.attribute("it's") == "it&#39;s")
    }

    @Test func controlCharactersAreDroppedButWhitespaceKept() {
        #expect(Markup.text("a\u{0}b\u{7}c\td\ne") == "abc\td\ne")
    }

    @Test func nonASCIIPassesThrough() {
        #expect(Markup.text("강남구 <남>") == "강남구 &lt;남&gt;")
    }

    @Test func numbersAreFixedAndNeverNaNOrNegativeZero() {
        #expect(Markup.number(1.5) == "1.5")
        #expect(Markup.number(2.0) == "2")
        #expect(Markup.number(-0.0001) == "0")
        #expect(Markup.number(.nan) == "0")
        #expect(Markup.number(.infinity) == "0")
        #expect(Markup.number(1234567.891, decimals: 1) == "1234567.9")
    }
}

@Suite struct SVGWriterTests {
    @Test func textAndTooltipsAreEscapedInTheOutput() {
        var s = SVG(width: 100, height: 50, title: "T<1>")
        s.text("<script>alert('x')</script>", x: 1, y: 2)
        s.circle(cx: 5, cy: 5, r: 2, style: .init(fill: "red"), tooltip: "order \"A&B\"")
        let out = s.render()
        #expect(!out.contains("<script>"))
        #expect(out.contains("&lt;script&gt;alert('x')&lt;/script&gt;"))
        #expect(out.contains("<title>order \"A&amp;B\"</title>"))
        #expect(out.contains("<title>T&lt;1&gt;</title>"))
        #expect(out.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(out.hasSuffix("</svg>"))
    }

    @Test func attributeValuesCannotBreakOutOfTheirQuotes() {
        var s = SVG(width: 10, height: 10)
        s.rect(x: 0, y: 0, width: 1, height: 1, style: .init(fill: "red\" onclick=\"x"))
        #expect(s.render().contains("fill=\"red&quot; onclick=&quot;x\""))
    }

    @Test func degeneratePolylinesAndPolygonsAreSkipped() {
        var s = SVG(width: 10, height: 10)
        s.polyline([(x: 1, y: 1)], style: .init(stroke: "#000"))
        s.polygon([(x: 1, y: 1), (x: 2, y: 2)], style: .init(fill: "#000"))
        #expect(s.elements.isEmpty)
        s.polyline([(x: 1, y: 1), (x: 2.25, y: 3)], style: .init(stroke: "#000"))
        #expect(s.elements.first?.contains("points=\"1,1 2.3,3\"") == true || s.elements.first?.contains("points=\"1,1 2.2,3\"") == true)
    }
}

@Suite struct HTMLWriterTests {
    @Test func documentEscapesTitleHeadingsParagraphsAndCells() {
        var d = HTMLDocument(title: "Plan <night>", css: "body{}</style><script>")
        d.heading("A & B")
        d.paragraph("<b>not bold</b>")
        d.table(headers: ["region", "km"], rows: [["<gangnam>", "1.0"], ["total"]], numeric: [1], emphasised: [1])
        let html = d.render()
        #expect(html.contains("<title>Plan &lt;night&gt;</title>"))
        #expect(html.contains("<h2>A &amp; B</h2>"))
        #expect(html.contains("<p>&lt;b&gt;not bold&lt;/b&gt;</p>"))
        #expect(html.contains("<td>&lt;gangnam&gt;</td><td class=\"num\">1.0</td>"))
        #expect(html.contains("<tr class=\"total\"><td>total</td><td class=\"num\"></td></tr>"))
        #expect(!html.contains("</style><script>"), "CSS cannot close its own element")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
    }

    @Test func rawMarkupIsKeptVerbatim() {
        var d = HTMLDocument(title: "t")
        d.raw(SVG(width: 1, height: 1).render())
        #expect(d.render().contains("<svg xmlns="))
    }
}
