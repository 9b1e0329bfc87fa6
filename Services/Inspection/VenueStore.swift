import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Venues where minors were found (`inspection.venues`), each finding there (`inspection.venue_findings`),
/// and which venues are flagged for their regulator.
struct VenueStore: Sendable {
    let database: Database

    /// A venue, as listed, with its count of findings.
    struct Venue: Codable, Sendable {
        var venueKey: String
        var kind: String
        var name: String
        var address: String?
        var flaggedAt: Date?
        var findings: Int
        var lastFoundAt: Date?
    }

    /// Records a venue finding. A venue that admitted minors where the law forbids it (``VenueFindingV1/Venue/isBreach(minors:)``)
    /// is flagged at the first finding; any venue with `flagAfter` findings within `days` is flagged too.
    /// - Parameters:
    ///   - finding: The finding, as intake accepted it.
    ///   - flagAfter: Findings within `days` that flag a venue.
    ///   - days: The window that counts.
    ///   - rectifyDays: The regulator's deadline to see a flagged venue rectified.
    ///   - now: When the venue is flagged.
    ///   - connection: The handler's transaction.
    /// - Returns: `venue.flagged.v1` for a breach, or for a venue flagged now by its count; nothing for a finding seen before.
    static func record(
        _ finding: VenueFindingAcceptedV1, flagAfter: Int, within days: Int, rectifyDays: Int, at now: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [Emission] {
        let venue = finding.venue
        let key = VenueRules.key(of: venue)
        let breach = venue.isBreach(minors: finding.subjectIDs.count)
        try await connection.query(prepared: """
            INSERT INTO inspection.venues (venue_key, kind, name, address, licence, district) VALUES
            (\(key), \(venue.kind.rawValue), \(venue.name), \(venue.address), \(venue.licence), \(venue.district))
            ON CONFLICT (venue_key) DO UPDATE SET address = coalesce(EXCLUDED.address, inspection.venues.address),
                district = coalesce(EXCLUDED.district, inspection.venues.district)
            """, logger: logger)
        let inserted = try await connection.query(prepared: """
            INSERT INTO inspection.venue_findings (intake_id, venue_key, found_at, minors, activities, action, agency, breach)
            VALUES (\(finding.intakeID), \(key), \(finding.foundAt), \(finding.subjectIDs.count), \(finding.activities.map(\.rawValue)),
                    \(finding.actionTaken.rawValue), \(finding.agency), \(breach))
            ON CONFLICT (intake_id) DO NOTHING RETURNING 1
            """, logger: logger)
        var isNew = false
        for try await _ in inserted { isNew = true }
        guard isNew else { return [] }
        let rows = try await connection.query(prepared: """
            WITH window_findings AS (
                SELECT count(*)::int AS findings, count(*) FILTER (WHERE breach)::int AS breaches FROM inspection.venue_findings f
                WHERE f.venue_key = \(key) AND f.found_at > \(finding.foundAt) - make_interval(days => \(days)::int) AND f.found_at <= \(finding.foundAt)),
            before AS (SELECT flagged_at FROM inspection.venues WHERE venue_key = \(key))
            UPDATE inspection.venues v SET flagged_at = coalesce(v.flagged_at, \(finding.foundAt))
            FROM window_findings w, before b
            WHERE v.venue_key = \(key) AND (\(breach) OR w.findings >= \(flagAfter))
            RETURNING b.flagged_at IS NULL, w.findings, w.breaches, v.district
            """, logger: logger)
        var emissions: [Emission] = []
        for try await (newlyFlagged, findings, breaches, district) in rows.decode((Bool, Int, Int, String?).self) where breach || newlyFlagged {
            emissions.append(Emission(VenueFlaggedV1(
                venueKey: key, kind: venue.kind, name: venue.name, district: district,
                regulatorUnit: VenueRules.regulatorUnit(of: venue.kind, district: district),
                dueAt: now.addingTimeInterval(Double(rectifyDays) * 86_400),
                reason: VenueRules.flagReason(venue.kind, breach: breach, findings: findings, days: days), findingID: finding.intakeID,
                breaches: max(breaches, 1), schoolCodes: finding.schoolCodes ?? [], at: now), subject: key))
        }
        return emissions
    }

    /// Up to 500 venues, those with the most findings first.
    /// - Parameter flaggedOnly: Only flagged venues.
    func venues(flaggedOnly: Bool) async throws -> [Venue] {
        let rows = try await database.query("""
            SELECT v.venue_key, v.kind, v.name, v.address, v.flagged_at, count(f.intake_id)::int, max(f.found_at)
            FROM inspection.venues v LEFT JOIN inspection.venue_findings f USING (venue_key)
            WHERE NOT \(flaggedOnly) OR v.flagged_at IS NOT NULL
            GROUP BY v.venue_key ORDER BY count(f.intake_id) DESC LIMIT 500
            """, logger: database.logger)
        var venues: [Venue] = []
        for try await (key, kind, name, address, flagged, findings, last) in rows.decode((String, String, String, String?, Date?, Int, Date?).self) {
            venues.append(Venue(venueKey: key, kind: kind, name: name, address: address, flaggedAt: flagged, findings: findings, lastFoundAt: last))
        }
        return venues
    }
}
