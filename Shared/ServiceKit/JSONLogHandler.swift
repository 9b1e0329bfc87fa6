import Foundation
import Logging

/// Writes one JSON object per line to standard error:
/// `{"ts":"…","level":"info","service":"intake","msg":"…", "<metadata key>": "…"}`.
///
/// Messages are fixed strings and metadata holds ids and counts only; no
/// personal data is ever logged (names, identity numbers and contacts do not
/// reach a logger anywhere in Huhang).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private static let lock = NSLock()

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [:]
        for (key, value) in metadata { object[key] = "\(value)" }
        if let extra = event.metadata { for (key, value) in extra { object[key] = "\(value)" } }
        object["ts"] = Self.timestamp()
        object["level"] = event.level.rawValue
        object["service"] = label
        object["msg"] = "\(event.message)"
        if event.level >= .error { object["source"] = "\(event.file.split(separator: "/").last ?? ""):\(event.line)" }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        Self.lock.lock()
        FileHandle.standardError.write(line)
        Self.lock.unlock()
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true)
            .timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
