import Foundation
import Hummingbird
import ServiceKit

/// Who may see and act on which case, task and referral: the district task force on all; a unit on the
/// cases it has a task in, its own tasks and the referrals its tasks made; a sealed case only within a
/// break-the-glass window granted to the reader. Backed by the stores.
struct CasePolicy: Sendable {
    let stores: InterventionStores
    let clock: any WallClock

    /// Whether a reader may see a case: the task force, or a unit with a task in it.
    func mayRead(_ identity: APIIdentity, caseID: String) async throws -> Bool {
        if identity.role == .taskForce { return true }
        return try await stores.cases.hasTask(of: identity.units, in: caseID)
    }

    /// Refuses (403) a reader who may not see the case.
    func requireRead(_ identity: APIIdentity, caseID: String) async throws {
        guard try await mayRead(identity, caseID: caseID) else {
            throw HTTPError(.forbidden, message: "no task of \(identity.unit) in case \(caseID)")
        }
    }

    /// Refuses (403) a reader of a sealed case without an open break-the-glass window.
    func requireOpen(_ identity: APIIdentity, caseID: String) async throws {
        guard try await stores.cases.mayOpenIfSealed(identity, caseID: caseID, now: clock.now()) else {
            throw HTTPError(.forbidden, message: "case \(caseID) is sealed; state a reason with POST /v1/cases/\(caseID)/access to open it for a while")
        }
    }

    /// Refuses (403) anyone but the task force and the unit whose task made the referral.
    func requireOutcome(_ identity: APIIdentity, referralID: String) async throws {
        if identity.role == .taskForce { return }
        guard try await stores.referrals.wasMade(byTaskOf: identity.units, referralID: referralID) else {
            throw HTTPError(.forbidden, message: "the task force, or the unit the referral's task is assigned to")
        }
    }

    /// Refuses (403) a unit's worklist to anyone but the unit and the task force.
    func requireWorklist(_ identity: APIIdentity, unit: String) throws {
        guard identity.acts(for: unit) || identity.role == .taskForce else { throw HTTPError(.forbidden, message: "a unit's own tasks only") }
    }

    /// The unit a task's feedback must come from: the caller's; nil for the task force, who may report on any.
    func reportingUnit(_ identity: APIIdentity) -> String? {
        identity.role == .taskForce ? nil : identity.unit
    }
}
