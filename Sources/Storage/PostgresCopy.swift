import CLibPQ
import Foundation

/// Rows encoded for `COPY … FROM STDIN` (text format), built on the caller's side so the
/// connection thread only streams bytes. Memory: the encoded size (≈ the text form of the values).
///
/// ```swift
/// var rows = PostgresCopyRows(columns: 3)
/// try rows.appendRow("north", 1 as Int64, payload)   // one row
/// try await conn.copyIn("COPY events (region, seq, payload) FROM STDIN", rows: rows, purpose: "append events")
/// ```
public struct PostgresCopyRows: Sendable {
    public let columnCount: Int
    public private(set) var rowCount = 0
    public private(set) var bytes: [UInt8] = []
    private var fieldsInRow = 0

    public init(columns: Int, reservingBytes: Int = 0) {
        precondition(columns > 0, "a COPY row has at least one column")
        columnCount = columns
        bytes.reserveCapacity(reservingBytes)
    }

    /// Appends one field of the current row (no per-row array). Call `endRow()` after `columns` fields.
    public mutating func appendField(_ value: some PostgresEncodable) throws(PostgresError) {
        precondition(fieldsInRow < columnCount, "row has more than \(columnCount) fields")
        if fieldsInRow > 0 { bytes.append(0x09) }
        try value.encodeCopyText(into: &bytes)
        fieldsInRow += 1
    }

    /// Ends the current row; traps if it has fewer fields than `columns` (a programming error).
    public mutating func endRow() {
        precondition(fieldsInRow == columnCount, "row has \(fieldsInRow) fields, expected \(columnCount)")
        bytes.append(0x0A)
        fieldsInRow = 0
        rowCount += 1
    }

    /// Appends one whole row.
    public mutating func appendRow(_ values: any PostgresEncodable...) throws(PostgresError) {
        precondition(values.count == columnCount, "row has \(values.count) fields, expected \(columnCount)")
        for v in values { try appendField(v) }
        endRow()
    }

    public var isEmpty: Bool { rowCount == 0 }
    public mutating func removeAll(keepingCapacity: Bool = true) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
        rowCount = 0
        fieldsInRow = 0
    }
}

extension PostgresEncodable {
    /// Writes the value as a COPY text field (escaped; `\N` for NULL). Types override this to skip
    /// building a `PostgresBind` first.
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) {
        try postgresBind.encodeCopyText(into: &out)
    }
}

extension PostgresBind {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) {
        guard let bytes else { out.append(0x5C); out.append(0x4E); return } // \N
        switch format {
        case .text:
            CopyText.escape(bytes, into: &out)
        case .binary where typeOID == PostgresType.bytea:
            CopyText.hexBytea(bytes, into: &out)
        case .binary:
            throw PostgresError(.invalidArgument, purpose: "encode COPY row",
                                message: "binary value of type oid \(typeOID) cannot be written in a text COPY")
        }
    }
}

enum CopyText {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    static func escape<C: Collection<UInt8>>(_ s: C, into out: inout [UInt8]) {
        for b in s {
            switch b {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            default: out.append(b)
            }
        }
    }

    /// `\\x` then hex: the bytea input syntax with its backslash escaped for COPY.
    static func hexBytea(_ b: [UInt8], into out: inout [UInt8]) {
        out.append(0x5C); out.append(0x5C); out.append(0x78)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: b.count * 2))
        out.withUnsafeMutableBufferPointer { o in
            var j = start
            for x in b {
                o[j] = hex[Int(x >> 4)]
                o[j + 1] = hex[Int(x & 15)]
                j += 2
            }
        }
    }

    static func integer(_ v: Int64, into out: inout [UInt8]) {
        if v == 0 { out.append(0x30); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var m = v.magnitude
        withUnsafeMutableBytes(of: &digits) { d in
            while m > 0 { d[n] = UInt8(48 + m % 10); m /= 10; n += 1 }
            if v < 0 { out.append(0x2D) }
            while n > 0 { n -= 1; out.append(d[n]) }
        }
    }
}

extension String {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) {
        var s = self
        s.withUTF8 { CopyText.escape($0, into: &out) }
    }
}
extension Int {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) { CopyText.integer(Int64(self), into: &out) }
}
extension Int64 {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) { CopyText.integer(self, into: &out) }
}
extension Int32 {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) { CopyText.integer(Int64(self), into: &out) }
}
extension Array where Element == UInt8 {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) { CopyText.hexBytea(self, into: &out) }
}
extension Date {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) {
        PostgresTime.write(microsecondsSinceEpoch: PostgresTime.microseconds(self), into: &out)
    }
}
extension Optional where Wrapped: PostgresEncodable {
    public func encodeCopyText(into out: inout [UInt8]) throws(PostgresError) {
        if let v = self { try v.encodeCopyText(into: &out) } else { out.append(0x5C); out.append(0x4E) }
    }
}

extension PostgresConnection {
    /// Bulk append: runs `copyStatement` (`COPY table (cols) FROM STDIN`, text format) and streams
    /// `rows` to it in 256 KiB chunks on the connection thread. Returns the number of rows copied.
    /// All rows or none: COPY is one statement. Cancellation aborts the COPY.
    @discardableResult
    public nonisolated func copyIn(_ copyStatement: String, rows: PostgresCopyRows,
                                   purpose: String) async throws(PostgresError) -> Int {
        let ticket = CancelTicket(wake: thread.wake)
        let result = await withTaskCancellationHandler {
            await self.runCatching { c throws(PostgresError) in
                try c.runCopy(copyStatement, rows.bytes, purpose: purpose, ticket: ticket)
            }
        } onCancel: {
            ticket.cancel()
        }
        return try result.get()
    }

    func runCopy(_ sql: String, _ data: [UInt8], purpose: String, ticket: CancelTicket) throws(PostgresError) -> Int {
        try ensureConnected(purpose: purpose)
        if ticket.isCancelled { throw cancelled(purpose, sql) }
        guard PQsendQueryParams(conn, sql, 0, nil, nil, nil, nil, 0) == 1 else {
            throw failure(nil, purpose: purpose, sql: sql)
        }
        switch try collectOutcome(purpose: purpose, sql: sql, ticket: ticket, allowCopyIn: true) {
        case .done:
            throw PostgresError(.copyFailed, purpose: purpose, message: "statement is not COPY … FROM STDIN", statement: sql)
        case .copyIn:
            break
        }
        let chunk = 256 * 1024
        var sendFailed = false
        data.withUnsafeBytes { all in
            var at = 0
            while at < all.count {
                if ticket.isCancelled { break }
                let n = min(chunk, all.count - at)
                let p = all.baseAddress!.advanced(by: at).assumingMemoryBound(to: CChar.self)
                // Blocking mode: returns once the chunk is queued or sent; -1 on a broken connection.
                if PQputCopyData(conn, p, Int32(n)) != 1 { sendFailed = true; break }
                at += n
            }
        }
        let abort: String? = ticket.isCancelled ? "cancelled by the client" : (sendFailed ? "send failed" : nil)
        if PQputCopyEnd(conn, abort) != 1 {
            throw failure(nil, purpose: purpose, sql: sql)
        }
        do {
            let rows = try collect(purpose: purpose, sql: sql, ticket: nil)
            return rows.affectedRows
        } catch {
            if ticket.isCancelled { throw cancelled(purpose, sql) }
            throw error
        }
    }
}
