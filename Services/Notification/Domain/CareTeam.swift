import Contracts
import Foundation

/// A case's care team as notification knows it: roles, units and sealed contacts from
/// `careteam.changed.v1`, newest wins; forgotten when the case closes (`case.closed.v1`),
/// told again by intervention on reopening.
enum CareTeam {
    /// A member notification may tell: the role and the contact, sealed.
    struct Member: Sendable {
        var role: CareTeamChangedV1.Member.Role
        var contact: [UInt8]
    }

    /// A care-team member's recipient id: the case and the role, never the person.
    static func recipient(caseID: String, role: CareTeamChangedV1.Member.Role) -> String { "care-team:\(caseID):\(role.rawValue)" }

    /// The channel an opened contact is reached on, as the contract defines it.
    static func channel(of contact: [UInt8]) -> String? {
        CareTeamChangedV1.Member.channel(ofContact: String(decoding: contact, as: UTF8.self))
    }
}
