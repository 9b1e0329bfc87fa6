import Contracts
import Crypto
import Foundation
import Logging
import ServiceKit

/// Intake's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `SUBJECT_HASH_KEY` | a development key (logged as a warning) | secret key of the keyed hash that turns identities into subject ids; at least 32 characters |
/// | `SUBJECT_HASH_KEY_FILE` | — | read the key from this file instead |
struct IntakeConfiguration {
    var subjectHashKey: String?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let path = environment["SUBJECT_HASH_KEY_FILE"], !path.isEmpty {
            subjectHashKey = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            subjectHashKey = environment["SUBJECT_HASH_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        }
    }
}

/// Turns the people named in an event into stable subject ids without keeping
/// their identities: a keyed hash (HMAC-SHA256) of the identity number, else
/// of student number and school, else of name, birth date and school — the
/// last only a candidate match, recorded as such.
struct SubjectResolver: Sendable {
    enum MatchKind: String, Sendable { case identity, student, candidate }

    private let key: SymmetricKey

    init(configuration: IntakeConfiguration, logger: Logger) throws {
        if let secret = configuration.subjectHashKey {
            guard secret.utf8.count >= 32 else {
                throw ConfigurationError(key: "SUBJECT_HASH_KEY", value: "(hidden)", expected: "at least 32 characters")
            }
            key = SymmetricKey(data: Data(secret.utf8))
        } else {
            logger.warning("SUBJECT_HASH_KEY not set; using the development key — never in production")
            key = SymmetricKey(data: Data("huhang-development-subject-key-not-for-production".utf8))
        }
    }

    func resolve(_ person: IncidentReportV1.Person, schoolCode: String?) -> (subjectID: String, kind: MatchKind) {
        if let id = person.idNumber {
            return (hash("id|\(id.uppercased())"), .identity)
        }
        if let student = person.studentNumber, let school = schoolCode {
            return (hash("student|\(school)|\(student)"), .student)
        }
        let name = person.name?.trimmingCharacters(in: .whitespaces) ?? ""
        return (hash("candidate|\(name)|\(person.birthDate ?? "")|\(schoolCode ?? "")"), .candidate)
    }

    private func hash(_ text: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)
        return "s-" + mac.prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
