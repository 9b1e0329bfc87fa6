import Foundation

/// A school in the registry: who it is, and who keeps it safe.
struct School: Codable, Sendable {
    /// From the path when writing.
    var code: String?
    var name: String?
    var type: String?
    var district: String?
    var policeOfficer: String?
    var legalVicePrincipal: String?
    var guardPosts: Int?
    /// The unit of the school's police officer (一校一警), put on every bullying and violence case.
    var policeUnit: String?
    /// The unit of the school's legal vice-principal (法治副校长), put on every bullying and violence case.
    var legalVicePrincipalUnit: String?

    /// The kinds of school the registry knows.
    static let types = ["kindergarten", "primary", "middle", "vocational"]
    /// What a unit code looks like, e.g. `psb-370102-lx`.
    static let unitPattern = #"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"#
}
