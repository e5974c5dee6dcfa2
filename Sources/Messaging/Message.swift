/// A ZeroMQ message: one or more frames (a frame may be empty).
///
/// The first frame is stored apart from the rest so that the common single-frame message costs
/// one allocation (its bytes), not two; `frames` rebuilds the array when asked.
public struct Message: Sendable, Hashable, CustomStringConvertible {
    /// The first frame.
    public var first: [UInt8]
    /// Frames after the first (empty for a single-frame message: no allocation).
    public var rest: [[UInt8]]

    /// A single-frame message.
    public init(_ frame: [UInt8]) {
        first = frame
        rest = []
    }

    /// A single-frame message holding the UTF-8 bytes of `text`.
    public init(_ text: String) { self.init(Array(text.utf8)) }

    /// A multipart message. An empty `frames` makes one empty frame (a message has at least one).
    public init(frames: [[UInt8]]) {
        if let f = frames.first {
            first = f
            rest = Array(frames.dropFirst())
        } else {
            first = []
            rest = []
        }
    }

    init(first: [UInt8], rest: [[UInt8]]) {
        self.first = first
        self.rest = rest
    }

    /// All frames, in order. Allocates an array.
    public var frames: [[UInt8]] { [first] + rest }

    /// Number of frames (at least 1).
    public var count: Int { 1 + rest.count }

    /// Frame `i` (0-based).
    public subscript(i: Int) -> [UInt8] { i == 0 ? first : rest[i - 1] }

    /// Total payload bytes over all frames.
    public var byteCount: Int { rest.reduce(first.count) { $0 + $1.count } }

    public var description: String {
        "Message(\(frames.map { "\($0.count)B" }.joined(separator: ", ")))"
    }
}

extension Message {
    /// Frame `i`, or `.malformedFrame` naming what was expected there (for envelope parsers).
    public func frame(_ i: Int, _ what: @autoclosure () -> String) throws(MessagingError) -> [UInt8] {
        guard i >= 0, i < count else {
            throw MessagingError(.malformedFrame, "expected \(what()) in frame \(i), message has \(count) frame(s)")
        }
        return self[i]
    }

    /// A little-endian integer that fills frame `i` exactly, or `.malformedFrame`.
    public func uint64(_ i: Int, _ what: @autoclosure () -> String) throws(MessagingError) -> UInt64 {
        let f = try frame(i, what())
        guard f.count == 8 else {
            throw MessagingError(.malformedFrame, "expected \(what()) as 8 bytes in frame \(i), got \(f.count)")
        }
        return f.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    /// A single-frame message holding `value` as 8 little-endian bytes.
    public init(uint64 value: UInt64) {
        self.init(withUnsafeBytes(of: value.littleEndian) { Array($0) })
    }
}
