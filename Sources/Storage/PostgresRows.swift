/// The complete result of one statement, copied out of libpq on the connection thread so it is a
/// plain Sendable value (the `PGresult` is freed before the caller sees this).
///
/// Cells are stored in one byte buffer with offsets: O(total bytes) memory, no per-cell allocation.
/// Values are in PostgreSQL's text output format (the session is pinned to UTC and ISO dates).
public struct PostgresRows: Sendable, RandomAccessCollection {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var typeOID: UInt32
    }

    public let columns: [Column]
    /// The command tag, e.g. `INSERT 0 3`, `SELECT 2`.
    public let commandTag: String
    /// Rows affected (INSERT/UPDATE/DELETE/COPY…), or returned by SELECT; 0 when none.
    public let affectedRows: Int
    let purpose: String
    let storage: [UInt8]
    /// Per cell: start offset into `storage`, or -1 for NULL. Row-major; count = rows × columns.
    let offsets: [Int]
    let lengths: [Int32]
    let rowCount: Int

    init(columns: [Column], commandTag: String, affectedRows: Int, purpose: String,
         storage: [UInt8], offsets: [Int], lengths: [Int32], rowCount: Int) {
        self.columns = columns
        self.commandTag = commandTag
        self.affectedRows = affectedRows
        self.purpose = purpose
        self.storage = storage
        self.offsets = offsets
        self.lengths = lengths
        self.rowCount = rowCount
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { rowCount }
    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }

    /// The index of the column named `name` (first match), or nil.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }
}

/// One row of a `PostgresRows`. Decode cells by index or by column name:
/// `try row.decode(0, as: Int64.self)`, `try row.decode("payload", as: [UInt8]?.self)`.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    public let index: Int

    public var columnCount: Int { rows.columns.count }

    /// Decodes column `column` (0-based). Throws `.decoding` naming the column and value on a
    /// type mismatch, a NULL for a non-optional type, or an index out of range.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard column >= 0, column < rows.columns.count else {
            throw PostgresError(.decoding, purpose: rows.purpose,
                                message: "column index \(column) out of range (the row has \(rows.columns.count) columns)")
        }
        let cell = index * rows.columns.count + column
        let c = rows.columns[column]
        let start = rows.offsets[cell]
        let result = rows.storage.withUnsafeBytes { (all: UnsafeRawBufferPointer) -> Result<T, PostgresError> in
            let bytes: UnsafeRawBufferPointer? = start < 0 ? nil
                : UnsafeRawBufferPointer(rebasing: all[start ..< start + Int(rows.lengths[cell])])
            return Result { () throws(PostgresError) -> T in
                try T.decode(PostgresCell(bytes: bytes, typeOID: c.typeOID, columnName: c.name,
                                          columnIndex: column, purpose: rows.purpose))
            }
        }
        return try result.get()
    }

    /// Decodes the column named `name`; throws `.decoding` if there is no such column.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let i = rows.columnIndex(name) else {
            throw PostgresError(.decoding, purpose: rows.purpose, message: "no column named \(name)",
                                column: name)
        }
        return try decode(i, as: type)
    }

    /// True if the cell is SQL NULL.
    public func isNull(_ column: Int) -> Bool {
        rows.offsets[index * rows.columns.count + column] < 0
    }
}

/// A view of one cell during decoding. `bytes` points into the result buffer and is valid only
/// inside `PostgresDecodable.decode`: never store it.
public struct PostgresCell {
    /// The cell's text-format bytes, or nil for NULL.
    public let bytes: UnsafeRawBufferPointer?
    public let typeOID: UInt32
    public let columnName: String
    public let columnIndex: Int
    let purpose: String

    init(bytes: UnsafeRawBufferPointer?, typeOID: UInt32, columnName: String, columnIndex: Int, purpose: String) {
        self.bytes = bytes
        self.typeOID = typeOID
        self.columnName = columnName
        self.columnIndex = columnIndex
        self.purpose = purpose
    }

    /// The cell as a String (NULL as nil).
    public var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    /// A `.decoding` error naming this column and showing its value.
    public func mismatch(_ expected: String) -> PostgresError {
        PostgresError(.decoding, purpose: purpose,
                      message: bytes == nil ? "NULL where \(expected) was expected"
                                            : "cannot decode \(expected) from a value of type oid \(typeOID)",
                      column: "\(columnName) (#\(columnIndex))", value: text ?? "NULL")
    }
}
