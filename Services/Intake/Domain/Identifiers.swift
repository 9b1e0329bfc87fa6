import Foundation

/// The identifiers one person reference carries, each a keyed hash (``SubjectResolver``).
struct IdentifierKeys: Sendable, Hashable {
    /// The identity number.
    var identity: String?
    /// The student number with its school.
    var student: String?
    /// Name and birth date with the school: never enough on its own to say two reports name one person.
    var candidate: String?
}

/// Every identifier intake has learned for a subject resolves to that subject: a school that names a
/// student by identity number and student number, then by student number alone, then a police report
/// that gives only the identity number — one subject. Where two identifiers of one reference belong to
/// two known subjects, or a name and birth date match a known subject but nothing stronger does, the
/// pair becomes a candidate match for the district task force to confirm (`GET /v1/matches`): never a
/// silent merge, never a silent split.
///
/// Table `intake.identifiers` (key → subject); keys are the keyed hashes, never identifiers in clear.
enum IdentifierRegistry {
    /// A pair of subjects the task force should look at.
    struct Candidate: Sendable, Hashable {
        var subjectID: String
        var otherSubjectID: String
        var basis: String
    }

    /// A new identifier → subject to remember.
    struct Learned: Sendable, Hashable {
        var key: String
        var subjectID: String
        var kind: String
    }

    /// What the registry made of one event's people.
    struct Resolution: Sendable {
        /// The subject of each known key.
        var known: [String: String]
        var learned: [Learned] = []
        var candidates: [Candidate] = []

        /// The subject a person resolves to: the subject of their identity number, else of their student
        /// number; nil when neither is known (the person is new, or named only by name and birth date).
        func subject(for keys: IdentifierKeys) -> String? {
            keys.identity.flatMap { known[$0] } ?? keys.student.flatMap { known[$0] }
        }
    }

    /// What to learn and what to ask the task force, given the subjects of the keys already known.
    /// Pure, so that the rules are tested on their own.
    /// - Parameters:
    ///   - named: Each person's identifiers, in the order the event names them.
    ///   - known: The subject of each key already in the registry.
    static func plan(_ named: [IdentifierKeys], known: [String: String]) -> Resolution {
        var resolution = Resolution(known: known)
        var learnedKeys: Set<String> = []
        var candidates: Set<Candidate> = []
        func learn(_ key: String?, _ subject: String, _ kind: String) {
            guard let key, resolution.known[key] == nil, learnedKeys.insert(key).inserted else { return }
            resolution.learned.append(Learned(key: key, subjectID: subject, kind: kind))
        }
        func ask(_ a: String, _ b: String, _ basis: String) {
            guard a != b else { return }
            let pair = Candidate(subjectID: min(a, b), otherSubjectID: max(a, b), basis: basis)
            if candidates.insert(pair).inserted { resolution.candidates.append(pair) }
        }
        for keys in named {
            let byIdentity = keys.identity.flatMap { resolution.known[$0] }
            let byStudent = keys.student.flatMap { resolution.known[$0] }
            guard let strongest = keys.identity ?? keys.student else {
                // Named by name and birth date only: its own (candidate) subject, as before; if a known
                // subject has the same name and birth date at the same school, the task force is asked.
                if let candidate = keys.candidate, let other = resolution.known[candidate] {
                    ask(candidate, other, "same name and birth date at the same school")
                }
                continue
            }
            let subject = byIdentity ?? byStudent ?? strongest
            if let byIdentity, let byStudent, byIdentity != byStudent {
                ask(byIdentity, byStudent, "one report gives an identity number and a student number known as two subjects")
            }
            learn(keys.identity, subject, "identity")
            if byStudent == nil { learn(keys.student, subject, "student") }
            if let candidate = keys.candidate {
                if let other = resolution.known[candidate], other != subject {
                    ask(subject, other, "same name and birth date at the same school")
                } else {
                    learn(candidate, subject, "candidate")
                }
            }
            resolution.known.merge(resolution.learned.map { ($0.key, $0.subjectID) }) { old, _ in old }
        }
        return resolution
    }
}
