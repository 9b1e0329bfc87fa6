import Foundation

/// The one way every executable reads its settings from the environment: an empty value counts as unset;
/// a value that does not parse, or is out of range, is refused at start with the variable named and what
/// it should be (``ConfigurationError``), never clamped or ignored; a secret may come from a file named by
/// `<NAME>_FILE` instead, as container secrets are mounted.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    /// - Parameter values: The variables (the process's environment by default).
    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The value, or nil when unset or empty.
    public func string(_ key: String) -> String? {
        values[key].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The value, or `fallback` when unset or empty.
    public func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    /// A whole number of at least `minimum`.
    /// - Parameters:
    ///   - key: The variable.
    ///   - fallback: When unset.
    ///   - minimum: The least value allowed.
    public func integer(_ key: String, default fallback: Int, minimum: Int = 1) throws -> Int {
        guard let text = string(key) else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= minimum else {
            throw ConfigurationError(key: key, value: text, expected: "a whole number, \(minimum) or more")
        }
        return value
    }

    /// A number above zero (decimals allowed).
    /// - Parameters:
    ///   - key: The variable.
    ///   - fallback: When unset.
    public func positive(_ key: String, default fallback: Double) throws -> Double {
        guard let text = string(key) else { return fallback }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
            throw ConfigurationError(key: key, value: text, expected: "a number above 0")
        }
        return value
    }

    /// The contents of the file `key` names, or nil when unset.
    public func file(_ key: String) throws -> String? {
        guard let path = string(key) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(key: key, value: path, expected: "a readable file")
        }
    }

    /// A secret: the first line of the file `<key>_FILE` names when that is set, else `key`'s value; nil when neither is.
    public func secret(_ key: String) throws -> String? {
        if let contents = try file(key + "_FILE") {
            let secret = contents.trimmingCharacters(in: .whitespacesAndNewlines)
            return secret.isEmpty ? nil : secret
        }
        return string(key)
    }

    /// The unit of the district task force (专班), which intervention escalates to and notification tells.
    public var taskForceUnit: String { string("TASK_FORCE_UNIT", default: "district-task-force") }
}
