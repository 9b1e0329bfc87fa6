import Hummingbird
import ServiceKit

/// Who may change inspection's records. Reading needs only a valid token: nothing here is personal data.
enum InspectionPolicy {
    /// Lets the task force and operators through, and the roles in `also`; refuses anyone else.
    /// - Parameters:
    ///   - identity: The verified caller.
    ///   - also: Further roles allowed, e.g. ``Role/education`` for the registry.
    static func manage(_ identity: APIIdentity, also: [Role] = []) throws {
        guard ([Role.taskForce, .operator] + also).contains(identity.role) else {
            throw HTTPError(.forbidden, message: "the task force and operators\(also.isEmpty ? "" : " and " + also.map(\.name).joined(separator: ", ")) only")
        }
    }
}
