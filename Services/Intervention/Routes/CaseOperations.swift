import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import ServiceKit
import Storage

/// How the API changes cases and tasks: in one transaction with its audit entry and the events it causes
/// (through the outbox), refusals answered with the matching status.
struct CaseOperations: Sendable {
    let database: Database
    let originator: Originator

    /// Refuses anyone but the district task force.
    static func requireTaskForce(_ identity: APIIdentity) throws {
        try identity.require(.taskForce, otherwise: "the district task force only")
    }

    /// The HTTP answer to a refusal.
    static func httpError(_ error: InterventionError) -> HTTPError {
        let status: HTTPResponse.Status = switch error.code {
        case .notFound: .notFound
        case .forbidden: .forbidden
        case .conflict: .conflict
        case .invalid: .badRequest
        }
        return HTTPError(status, message: error.description)
    }

    /// What a person did, for the audit: written in the transaction of the change.
    struct Audited: Sendable {
        var identity: APIIdentity
        var action: String
        var resource: String
        var reason: String?
    }

    /// Runs an operation in a transaction, writes its audit entry and puts its events in the outbox; maps refusals to statuses.
    /// - Parameters:
    ///   - audited: Who did what, when a person acts on a case or a task.
    ///   - operation: The change; returns the events it causes.
    /// - Returns: How many events it caused.
    func perform(_ audited: Audited? = nil, _ operation: @Sendable @escaping (PostgresConnection) async throws -> [Emission]) async throws -> Int {
        do {
            return try await originator.transaction { connection in
                let emissions = try await operation(connection)
                if let audited {
                    try await Audit.record(
                        audited.identity, action: audited.action, resource: audited.resource, reason: audited.reason, on: connection, in: database)
                }
                return emissions
            }
        } catch let error as InterventionError {
            throw Self.httpError(error)
        }
    }

    /// Records a read in the audit trail.
    /// - Parameters:
    ///   - identity: Who read.
    ///   - action: `read`, `break-the-glass`.
    ///   - resource: What, by id.
    ///   - reason: The stated reason, if any.
    func audit(_ identity: APIIdentity, action: String, resource: String, reason: String? = nil) async throws {
        try await Audit.record(identity, action: action, resource: resource, reason: reason, in: database)
    }
}
