import Contracts
import Foundation

/// How inspection keeps venues where minors were found: one record per venue, and who is told to see a
/// flagged venue rectified.
enum VenueRules {
    /// The venue's key: its licence when it has one, otherwise its kind and lower-cased name.
    static func key(of venue: VenueFindingV1.Venue) -> String {
        venue.licence.map { "licence:\($0)" } ?? "\(venue.kind.rawValue):\(venue.name.lowercased())"
    }

    /// The regulator of a venue's district that sees it rectified: the police for hotels and short lets,
    /// the culture bureau for the rest; none when the district is unknown.
    static func regulatorUnit(of kind: VenueFindingV1.VenueKind, district: String?) -> String? {
        district.map { district in
            switch kind {
            case .hotel, .shortLet: "psb-\(district)"
            default: "culture-\(district)"
            }
        }
    }

    /// Why a venue is flagged.
    /// - Parameters:
    ///   - kind: The venue's kind.
    ///   - breach: Whether this finding was a breach (``VenueFindingV1/Venue/isBreach(minors:)``).
    ///   - findings: The venue's findings within `days`.
    ///   - days: The window that counts.
    static func flagReason(_ kind: VenueFindingV1.VenueKind, breach: Bool, findings: Int, days: Int) -> String {
        breach
            ? (kind == .hotel || kind == .shortLet ? "took in minors without the checks for minors" : "admitted minors")
            : "\(findings) findings of minors within \(days) days (\(kind.rawValue))"
    }
}
