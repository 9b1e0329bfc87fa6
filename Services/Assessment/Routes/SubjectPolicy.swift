import Foundation
import Hummingbird
import ServiceKit

/// Who may read which subject's assessment, ledger entry and screening: the district task force every
/// one; an agency the subjects it sent an event about and the screenings it sent; a sealed record only
/// the task force, on a stated reason. Backed by the subject store.
struct SubjectPolicy: Sendable {
    let subjects: SubjectStore

    /// Refuses (403) a reader who sent nothing about the subject, unless the task force.
    func requireRead(_ identity: APIIdentity, subjectID: String) async throws {
        if identity.role == .taskForce { return }
        guard try await subjects.hasReported(identity.agency, subjectID: subjectID) else {
            throw HTTPError(.forbidden, message: "\(identity.agency) has sent nothing about \(subjectID)")
        }
    }

    /// Refuses a break-the-glass read of a sealed record: only the task force, with a reason.
    /// - Returns: The reason, trimmed.
    func requireSealedRead(_ identity: APIIdentity, reason: String) throws -> String {
        try identity.require(.taskForce, otherwise: "a sealed record is opened by the district task force only")
        let reason = reason.trimmingCharacters(in: .whitespaces)
        guard !reason.isEmpty else {
            throw HTTPError(.badRequest, message: "reason: state why the sealed record must be opened; it is kept in the audit trail")
        }
        return reason
    }

    /// Whose ledger entries a reader sees: nil for every entry (the task force), else the agency's own subjects.
    func ledgerScope(_ identity: APIIdentity) -> String? {
        identity.role == .taskForce ? nil : identity.agency
    }

    /// Refuses (403) a screening to anyone but the agency that sent it and the task force.
    static func requireScreening(_ identity: APIIdentity, sentBy agency: String) throws {
        guard identity.role == .taskForce || identity.agency == agency else {
            throw HTTPError(.forbidden, message: "a screening is shown to the agency that sent it and the task force")
        }
    }
}
