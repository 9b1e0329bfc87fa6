import Contracts
import Crypto
import Foundation
import Logging
import ServiceKit

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

    /// The subject id a person gets when none of their identifiers is known yet, and how sure the match is:
    /// the keyed hash of their strongest identifier.
    /// - Parameters:
    ///   - person: The person as the agency named them.
    ///   - schoolCode: The school the event concerns, which scopes student numbers.
    func resolve(_ person: PersonRef, schoolCode: String?) -> (subjectID: String, kind: MatchKind) {
        resolve(keys(person, schoolCode: schoolCode), schoolCode: schoolCode)
    }

    /// As ``resolve(_:schoolCode:)``, from the person's identifiers already hashed (``keys(_:schoolCode:)``).
    func resolve(_ keys: IdentifierKeys, schoolCode: String?) -> (subjectID: String, kind: MatchKind) {
        if let identity = keys.identity { return (identity, .identity) }
        if let student = keys.student { return (student, .student) }
        return (keys.candidate ?? hash("candidate|||\(schoolCode ?? "")"), .candidate)
    }

    /// Every identifier a person reference carries, each as a keyed hash (never in clear): the identity
    /// number; the student number with the school; name and birth date with the school (a candidate only).
    /// - Parameters:
    ///   - person: The person as the agency named them.
    ///   - schoolCode: The school the event concerns, which scopes student numbers.
    func keys(_ person: PersonRef, schoolCode: String?) -> IdentifierKeys {
        let school = person.schoolCode ?? schoolCode
        let name = person.name?.trimmingCharacters(in: .whitespaces) ?? ""
        return IdentifierKeys(
            identity: person.idNumber.map { hash("id|\($0.uppercased())") },
            student: person.studentNumber.flatMap { student in school.map { hash("student|\($0)|\(student)") } },
            candidate: name.isEmpty ? nil : hash("candidate|\(name)|\(person.birthDate ?? "")|\(school ?? "")"))
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
        if idNumber == nil && name == nil && (studentNumber == nil || (self.schoolCode ?? schoolCode) == nil) {
            return [FieldError(field: pointer, problem: studentNumber == nil ? "names nobody" : "gives a studentNumber without a school",
                               allowed: "idNumber, or studentNumber with a schoolCode (the event's or the person's), or name (with birthDate)")]
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
///
/// An event is read twice: first to learn the identifiers of everyone it names (``collecting``), which
/// ``IdentifierRegistry`` then resolves in one query; then with that resolution, to make the events
/// passed on.
struct Acceptance {
    struct Link: Hashable {
        var subjectID: String
        var role: String
        var kind: SubjectResolver.MatchKind
        var identity: [UInt8]?
    }

    let intakeID: String
    let agency: String
    /// The unit the sending agency acts as (a school's school code).
    let unit: String
    let now: Date
    let resolver: SubjectResolver
    let cipher: PersonalDataCipher
    /// Rows of a batch left out as invalid.
    var rejectedRows = 0
    /// How an incident report reached the agency, kept for the statistics.
    var channel: String?
    private(set) var links: [Link] = []
    private var linked: Set<[String]> = []
    /// What the registry made of the event's identifiers; nil while collecting them.
    let resolution: IdentifierRegistry.Resolution?
    /// While collecting: the identifiers of each person, in the order named. With a resolution: those the
    /// collecting pass hashed, taken in the same order instead of hashing each person again.
    private(set) var named: [IdentifierKeys] = []
    private var taken = 0

    /// - Parameters:
    ///   - resolution: What the registry made of the event's identifiers; nil while collecting them.
    ///   - named: The identifiers a collecting pass over the same event gathered (``named``), in its order.
    init(
        intakeID: String, agency: String, unit: String, now: Date, resolver: SubjectResolver, cipher: PersonalDataCipher,
        resolution: IdentifierRegistry.Resolution? = nil, named: [IdentifierKeys] = []
    ) {
        self.intakeID = intakeID
        self.agency = agency
        self.unit = unit
        self.now = now
        self.resolver = resolver
        self.cipher = cipher
        self.resolution = resolution
        self.named = named
    }

    /// The subject id of a person named in the event, kept with the role they play in it.
    /// - Parameters:
    ///   - person: As the agency named them.
    ///   - role: Their part in the event, e.g. `victim`, `student`, `minor`.
    ///   - schoolCode: The event's school.
    mutating func subject(_ person: PersonRef, role: String, schoolCode: String?) throws -> String {
        let keys: IdentifierKeys
        if resolution != nil, taken < named.count {
            keys = named[taken]
            taken += 1
        } else {
            keys = resolver.keys(person, schoolCode: schoolCode)
        }
        let (provisional, kind) = resolver.resolve(keys, schoolCode: schoolCode)
        guard let resolution else {
            named.append(keys)
            return provisional
        }
        let subjectID = resolution.subject(for: keys) ?? provisional
        let school = person.schoolCode ?? schoolCode
        let kept = KeptIdentity(name: person.name, birthDate: person.birthDate, studentNumber: person.studentNumber, schoolCode: school)
        let identity = kept.name == nil && kept.birthDate == nil && kept.studentNumber == nil ? nil : try cipher.seal(kept)
        if linked.insert([subjectID, role]).inserted {
            links.append(Link(subjectID: subjectID, role: role, kind: kind, identity: identity))
        }
        return subjectID
    }
}
