import Contracts
import Crypto
import Foundation
import Logging
import PostgresNIO
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

    /// The subject id of a person, and how sure the match is.
    /// - Parameters:
    ///   - person: The person as the agency named them.
    ///   - schoolCode: The school the event concerns, which scopes student numbers.
    func resolve(_ person: PersonRef, schoolCode: String?) -> (subjectID: String, kind: MatchKind) {
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
        return "s-" + Hex.string(mac.prefix(16))
    }
}

extension PersonRef {
    init(_ person: IncidentReportV1.Person) {
        self.init(idNumber: person.idNumber, studentNumber: person.studentNumber, name: person.name, birthDate: person.birthDate)
    }

    /// Problems with a person reference the schema cannot see.
    /// - Parameters:
    ///   - pointer: Where the person is in the event, e.g. `/minors/2`.
    ///   - schoolCode: The event's school, which a student number needs.
    func problems(at pointer: String, schoolCode: String?) -> [FieldError] {
        if idNumber == nil && name == nil && (studentNumber == nil || schoolCode == nil) {
            return [FieldError(field: pointer, problem: "names nobody",
                               allowed: "idNumber, or studentNumber with the event's schoolCode, or name (with birthDate)")]
        }
        return []
    }
}

/// How intake keeps a person's details, for a caseworker confirming a
/// candidate match: sealed (``PersonalDataCipher``), and never the identity number.
struct KeptIdentity: Codable, Sendable, Hashable {
    var name: String?
    var birthDate: String?
    var studentNumber: String?
    var schoolCode: String?
}

/// The people of one accepted event, resolved to subject ids and recorded
/// together, in one statement, with the event.
struct Acceptance {
    struct Link: Hashable {
        var subjectID: String
        var role: String
        var kind: SubjectResolver.MatchKind
        var identity: [UInt8]?
    }

    let intakeID: String
    let agency: String
    let now: Date
    let resolver: SubjectResolver
    let cipher: PersonalDataCipher
    /// Rows of a batch left out as invalid.
    var rejectedRows = 0
    private(set) var links: [Link] = []
    private var linked: Set<[String]> = []

    init(intakeID: String, agency: String, now: Date, resolver: SubjectResolver, cipher: PersonalDataCipher) {
        self.intakeID = intakeID
        self.agency = agency
        self.now = now
        self.resolver = resolver
        self.cipher = cipher
    }

    /// The subject id of a person named in the event, kept with the role they play in it.
    /// - Parameters:
    ///   - person: As the agency named them.
    ///   - role: Their part in the event, e.g. `victim`, `student`, `minor`.
    ///   - schoolCode: The event's school.
    mutating func subject(_ person: PersonRef, role: String, schoolCode: String?) throws -> String {
        let (subjectID, kind) = resolver.resolve(person, schoolCode: schoolCode)
        let kept = KeptIdentity(name: person.name, birthDate: person.birthDate, studentNumber: person.studentNumber, schoolCode: schoolCode)
        let identity = kept.name == nil && kept.birthDate == nil && kept.studentNumber == nil ? nil : try cipher.seal(kept)
        if linked.insert([subjectID, role]).inserted {
            links.append(Link(subjectID: subjectID, role: role, kind: kind, identity: identity))
        }
        return subjectID
    }

    /// Claims (agency, event type, external id) for this event and writes its
    /// subject links, in one statement; the links are written only with the claim.
    /// - Returns: `true` when the event is new; `false` when the external id was taken before.
    func claim(
        eventID: String, type: String, externalID: String, contentHash: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let rows = try await connection.query("""
            WITH claimed AS (
                INSERT INTO intake.accepted (intake_id, event_id, agency, event_type, external_id, content_hash)
                VALUES (\(intakeID)::uuid, \(eventID), \(agency), \(type), \(externalID), \(contentHash))
                ON CONFLICT (agency, event_type, external_id) DO NOTHING
                RETURNING intake_id),
            linked AS (
                INSERT INTO intake.subject_links (intake_id, subject_id, role, match_kind, identity)
                SELECT claimed.intake_id, s, r, k, CASE WHEN i = '' THEN NULL ELSE decode(i, 'base64') END
                FROM claimed, unnest(\(links.map(\.subjectID))::text[], \(links.map(\.role))::text[], \(links.map(\.kind.rawValue))::text[],
                                     \(links.map { $0.identity.map { Data($0).base64EncodedString() } ?? "" })::text[]) AS t(s, r, k, i)
                ON CONFLICT DO NOTHING)
            SELECT count(*)::int FROM claimed
            """, logger: logger)
        for try await claimed in rows.decode(Int.self) { return claimed == 1 }
        return false
    }
}
