import Crypto
import Foundation
import Logging

/// An error reading sealed personal data.
public struct PersonalDataError: Error, CustomStringConvertible, Hashable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable { case unknownKey, damaged }
        private let value: Value
        /// Sealed with a key this service does not hold (add it to `PERSONAL_DATA_PREVIOUS_KEYS_FILE`).
        public static let unknownKey = Code(value: .unknownKey)
        /// Not sealed data, or altered since it was sealed.
        public static let damaged = Code(value: .damaged)
        public var description: String { value == .unknownKey ? "unknownKey" : "damaged" }
    }

    public let code: Code
    public var description: String {
        code == .unknownKey ? "sealed with a key this service does not hold" : "sealed data is damaged or was altered"
    }
}

/// Seals personal data — names, birth dates, student numbers, contacts — for
/// storage, with AES-256-GCM. Identity numbers are never sealed: they are not
/// stored at all, only their keyed hash.
///
/// The stored form is `hk1` (3 bytes), the key id (4 bytes: the start of the
/// key's SHA-256), then nonce, ciphertext and tag. New data is sealed with the
/// current key; data sealed with a previous key is still read, so keys can be
/// rotated without rewriting what is stored.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `PERSONAL_DATA_KEY` | a development key (logged as a warning) | secret the sealing key is derived from (HKDF-SHA256); at least 32 characters |
/// | `PERSONAL_DATA_KEY_FILE` | — | read that secret from this file instead |
/// | `PERSONAL_DATA_PREVIOUS_KEYS_FILE` | — | earlier secrets, one per line, still accepted for reading |
public struct PersonalDataCipher: Sendable {
    private static let magic: [UInt8] = Array("hk1".utf8)
    private let current: (id: [UInt8], key: SymmetricKey)
    private let readable: [[UInt8]: SymmetricKey]

    /// - Parameters:
    ///   - secret: The current secret; at least 32 characters.
    ///   - previous: Earlier secrets, still accepted for reading.
    public init(secret: String, previous: [String] = []) throws {
        guard secret.utf8.count >= 32 else {
            throw ConfigurationError(key: "PERSONAL_DATA_KEY", value: "(hidden)", expected: "at least 32 characters")
        }
        current = Self.derive(secret)
        var readable = [current.id: current.key]
        for old in previous where !old.isEmpty {
            let (id, key) = Self.derive(old)
            readable[id] = key
        }
        self.readable = readable
    }

    /// The cipher the environment configures; the development key, with a warning, when none is set.
    /// - Parameters:
    ///   - environment: The process environment.
    ///   - logger: Where the development-key warning goes.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger
    ) throws -> PersonalDataCipher {
        let reader = EnvironmentReader(environment)
        var secret = try reader.secret("PERSONAL_DATA_KEY") ?? ""
        if secret.isEmpty {
            logger.warning("PERSONAL_DATA_KEY not set; using the development key — never in production")
            secret = "huhang-development-personal-data-key-not-for-production"
        }
        let previous = (try reader.file("PERSONAL_DATA_PREVIOUS_KEYS_FILE") ?? "").split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try PersonalDataCipher(secret: secret, previous: previous)
    }

    private static func derive(_ secret: String) -> (id: [UInt8], key: SymmetricKey) {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)), info: Data("huhang personal data v1".utf8), outputByteCount: 32)
        let id = key.withUnsafeBytes { Array(SHA256.hash(data: $0).prefix(4)) }
        return (id, key)
    }

    /// Seals bytes with the current key.
    public func seal(bytes plaintext: some DataProtocol) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: current.key)
        guard let combined = box.combined else { throw PersonalDataError(code: .damaged) }
        return Self.magic + current.id + Array(combined)
    }

    /// Seals a value as JSON with the current key.
    public func seal(_ value: some Encodable) throws -> [UInt8] {
        try seal(bytes: try JSONEncoder().encode(value))
    }

    /// Opens what ``seal(bytes:)`` sealed, with whichever known key sealed it.
    public func open(_ sealed: [UInt8]) throws -> [UInt8] {
        guard sealed.count > 7 + 28, Array(sealed.prefix(3)) == Self.magic else { throw PersonalDataError(code: .damaged) }
        guard let key = readable[Array(sealed[3..<7])] else { throw PersonalDataError(code: .unknownKey) }
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed[7...]), using: key))
        } catch {
            throw PersonalDataError(code: .damaged)
        }
    }

    /// Opens a value sealed as JSON.
    public func open<T: Decodable>(_ type: T.Type, from sealed: [UInt8]) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(try open(sealed)))
    }
}
