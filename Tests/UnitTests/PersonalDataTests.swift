import Foundation
import Logging
import ServiceKit
import Testing

@Suite("Personal data sealing")
struct PersonalDataTests {
    struct Person: Codable, Equatable { var name: String; var birthDate: String }

    /// The code a failing call throws with, or nil.
    func code(_ call: () throws -> Any) -> PersonalDataError.Code? {
        do {
            _ = try call()
            return nil
        } catch {
            return (error as? PersonalDataError)?.code
        }
    }

    static let secret = "a-test-secret-that-is-long-enough-0001"
    static let next = "a-test-secret-that-is-long-enough-0002"

    @Test("sealed data opens to what was sealed, and the stored bytes do not contain it")
    func roundTrip() throws {
        let cipher = try PersonalDataCipher(secret: Self.secret)
        let person = Person(name: "王小红", birthDate: "2012-09-01")
        let sealed = try cipher.seal(person)
        #expect(try cipher.open(Person.self, from: sealed) == person)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("王小红"))
        #expect(!String(decoding: sealed, as: UTF8.self).contains("2012-09-01"))
        // A fresh nonce each time: equal values do not give equal bytes.
        #expect(try cipher.seal(person) != sealed)
    }

    @Test("a changed byte or a foreign key is refused with its code")
    func tamperAndForeignKey() throws {
        let cipher = try PersonalDataCipher(secret: Self.secret)
        var sealed = try cipher.seal(bytes: Array("name".utf8))
        sealed[sealed.count - 1] ^= 1
        #expect(code { try cipher.open(sealed) } == .damaged)
        let other = try PersonalDataCipher(secret: Self.next)
        #expect(code { try other.open(try cipher.seal(bytes: Array("name".utf8))) } == .unknownKey)
        #expect(code { try cipher.open(Array("not sealed at all, just text".utf8)) } == .damaged)
    }

    @Test("after a key rotation, data sealed with the previous key still opens; new data uses the new key")
    func rotation() throws {
        let old = try PersonalDataCipher(secret: Self.secret)
        let rotated = try PersonalDataCipher(secret: Self.next, previous: [Self.secret])
        let before = try old.seal(bytes: Array("kept".utf8))
        #expect(try rotated.open(before) == Array("kept".utf8))
        #expect(code { try old.open(try rotated.seal(bytes: Array("new".utf8))) } == .unknownKey)
    }

    @Test("keys come from the environment or a file; a short one is refused")
    func configuration() throws {
        let logger = Logger(label: "test")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pd-key-\(UUID().uuidString)")
        try (Self.next + "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try PersonalDataCipher.fromEnvironment(["PERSONAL_DATA_KEY_FILE": file.path], logger: logger)
        let fromValue = try PersonalDataCipher(secret: Self.next)
        #expect(try fromValue.open(try fromFile.seal(bytes: [1, 2, 3])) == [1, 2, 3])
        #expect(throws: ConfigurationError.self) { try PersonalDataCipher.fromEnvironment(["PERSONAL_DATA_KEY": "short"], logger: logger) }
    }
}
