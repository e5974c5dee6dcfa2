extension InstanceFile {
    /// Parses an instance's text in `format`, or in the format `detectFormat` finds when nil.
    /// `file` is the name or path used in error messages and, when the file states none, as the name.
    /// Pure; O(n) in the text length.
    public static func parse(_ text: String, file: String, format: Format? = nil) throws(InstanceError) -> InstanceFile {
        let f: Format
        if let format { f = format } else { f = try detectFormat(text, file: file) }
        switch f {
        case .solomon: return try SolomonReader.parse(text, file: file)
        case .lilim: return try LiLimReader.parse(text, file: file)
        case .vrplib: return try VRPLIBReader.parse(text, file: file)
        }
    }

    /// Parses raw file bytes, which must be UTF-8 (ASCII in practice); otherwise an error naming the file.
    public static func parse(bytes: [UInt8], file: String, format: Format? = nil) throws(InstanceError) -> InstanceFile {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InstanceError(.unknownFormat, file: file, line: nil, "not UTF-8 text: expected a Solomon, Li & Lim or VRPLIB instance")
        }
        return try parse(text, file: file, format: format)
    }

    /// Guesses the layout from the first lines: VRPLIB has `KEY : VALUE` lines, Solomon a
    /// `VEHICLE` and a `CUSTOMER` block, Li & Lim a 3-number line followed by 9-number rows.
    public static func detectFormat(_ text: String, file: String) throws(InstanceError) -> Format {
        let t = TextLines(String(text.prefix(4096)), file: file)
        let rows = t.lines.filter { !$0.isBlank }
        guard let first = rows.first else { throw t.error(.truncated, nil, "empty file: expected a Solomon, Li & Lim or VRPLIB instance") }
        let words = Set(rows.prefix(12).compactMap { $0.tokens.first.map { $0.uppercased() } })
        if rows.prefix(12).contains(where: { $0.text.contains(":") }) || words.contains("DIMENSION")
            || words.contains(where: { $0.hasSuffix("_SECTION") }) {
            return .vrplib
        }
        if words.contains("VEHICLE") || words.contains("CUSTOMER") { return .solomon }
        let numeric: (TextLines.Line) -> Bool = { $0.tokens.allSatisfy { Double($0) != nil } }
        if first.tokens.count == 3, numeric(first), rows.count > 1, rows[1].tokens.count == 9, numeric(rows[1]) { return .lilim }
        throw t.error(.unknownFormat, first.number,
                      "cannot tell the format: expected a Solomon header (name, VEHICLE, CUSTOMER), a Li & Lim 'K Q SPEED' line, or VRPLIB 'KEY : VALUE' lines; give --format")
    }

    /// The file name without directories and extension: `/a/b/lc101.txt` → `lc101`.
    public static func stem(of path: String) -> String {
        let last = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = last.lastIndex(of: "."), dot != last.startIndex { return String(last[..<dot]) }
        return last
    }
}
