import Foundation
import Messaging
import Warehouse

/// The VDA 5050 topic of a message on the floor link: `uagv/v2/<manufacturer>/<serialNumber>/<topic>`,
/// as MQTT would carry it (Docs/VDA5050.md). Manufacturer and serial number may not contain `/`.
public struct FloorTopic: Sendable, Hashable, CustomStringConvertible {
    public var manufacturer: String
    public var serialNumber: String
    public var topic: VDA5050.Topic
    public init(manufacturer: String, serialNumber: String, topic: VDA5050.Topic) {
        self.manufacturer = manufacturer
        self.serialNumber = serialNumber
        self.topic = topic
    }

    public var description: String {
        "\(VDA5050.interfaceName)/\(VDA5050.majorVersion)/\(manufacturer)/\(serialNumber)/\(topic.rawValue)"
    }

    /// Parses frame 0; the error names the segment that is wrong.
    public static func parse(_ frame: [UInt8]) throws(VDA5050DecodingError) -> FloorTopic {
        let text = String(decoding: frame, as: UTF8.self)
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5 else {
            throw .init(.invalidValue, "topic", "\"\(text)\" is not interface/version/manufacturer/serialNumber/topic")
        }
        guard parts[0] == VDA5050.interfaceName else {
            throw .init(.invalidValue, "topic.interfaceName", "expected \"\(VDA5050.interfaceName)\", got \"\(parts[0])\"")
        }
        guard parts[1] == VDA5050.majorVersion else {
            throw .init(.invalidValue, "topic.majorVersion", "expected \"\(VDA5050.majorVersion)\", got \"\(parts[1])\"")
        }
        guard !parts[2].isEmpty else { throw .init(.invalidValue, "topic.manufacturer", "is empty") }
        guard !parts[3].isEmpty else { throw .init(.invalidValue, "topic.serialNumber", "is empty") }
        guard let topic = VDA5050.Topic(rawValue: parts[4]) else {
            throw .init(.invalidValue, "topic.topic", "\"\(parts[4])\" is not one of \(VDA5050.Topic.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return FloorTopic(manufacturer: parts[2], serialNumber: parts[3], topic: topic)
    }
}

/// Frames of a floor message: `[topic][JSON body]` (Docs/VDA5050.md, "Framing").
public enum FloorFrames {
    public static func message(_ topic: FloorTopic, _ json: String) -> Message {
        Message(frames: [Array(topic.description.utf8), Array(json.utf8)])
    }

    /// Splits a message into its topic and JSON text.
    public static func parse(_ m: Message) throws(VDA5050DecodingError) -> (FloorTopic, String) {
        guard m.count == 2 else {
            throw .init(.invalidValue, "frames", "expected 2 frames (topic, JSON body), got \(m.count)")
        }
        let topic = try FloorTopic.parse(m[0])
        guard let json = String(validating: m[1], as: UTF8.self) else {
            throw .init(.invalidJSON, "body", "not UTF-8")
        }
        return (topic, json)
    }

    /// The header must name the robot of the topic.
    static func checkHeader(_ h: VDA5050.Header, against t: FloorTopic) throws(VDA5050DecodingError) {
        if h.serialNumber != t.serialNumber {
            throw .init(.invalidValue, "serialNumber", "\"\(h.serialNumber)\" differs from the topic's \"\(t.serialNumber)\"")
        }
        if h.manufacturer != t.manufacturer {
            throw .init(.invalidValue, "manufacturer", "\"\(h.manufacturer)\" differs from the topic's \"\(t.manufacturer)\"")
        }
    }
}

/// What went wrong on the floor link, with a code to branch on.
public struct FloorError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// No robot with that serial number has connected to this link.
        case unknownRobot
        /// The robot did not answer within the deadline (it may be gone: ZeroMQ never says).
        case timeout
        /// The robot answered with errors: the order or action was refused (see `errors`).
        case rejected
        /// The link or the robot runner was closed.
        case closed
        /// A bounded queue was full; nothing was sent.
        case busy
        /// The Messaging layer failed (bind, connect); `message` says how.
        case messaging
    }
    public var code: Code
    public var message: String
    /// For `.rejected`: the robot's errors about this message.
    public var errors: [VDA5050.AGVError]
    public init(_ code: Code, _ message: String, errors: [VDA5050.AGVError] = []) {
        self.code = code
        self.message = message
        self.errors = errors
    }
    public var description: String {
        errors.isEmpty ? "\(code.rawValue): \(message)"
            : "\(code.rawValue): \(message): " + errors.map { "\($0.errorType) \($0.errorDescription ?? "")" }.joined(separator: "; ")
    }
}

/// ISO 8601 UTC now, for headers.
func wallTimestamp() -> String {
    VDA5050.timestamp(unixMillis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
}
