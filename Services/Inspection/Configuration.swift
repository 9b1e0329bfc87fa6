import Foundation
import ServiceKit

/// Inspection's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `NON_COMPLIANT_LATE_HAZARDS`, `MODEL_MIN_INSPECTIONS`, `MODEL_MAX_INCIDENTS` | 2, 3, 1 | the rating rules (``RatingRules``) |
/// | `VENUE_FLAG_FINDINGS` | `3` | findings at one venue that flag it |
/// | `VENUE_FLAG_DAYS` | `90` | within how many days |
/// | `VENUE_RECTIFY_DAYS` | `15` | the regulator's deadline to see a flagged venue rectified (责令限期整改) |
/// | `HAZARD_POLL_MS` | `1000` | how often late hazards are looked for |
struct InspectionConfiguration: Sendable {
    var rules: RatingRules
    var venueFlagFindings: Int
    var venueFlagDays: Int
    var venueRectifyDays: Int
    var poll: Duration

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        rules = try RatingRules(environment: environment)
        let environment = EnvironmentReader(environment)
        venueFlagFindings = try environment.integer("VENUE_FLAG_FINDINGS", default: 3)
        venueFlagDays = try environment.integer("VENUE_FLAG_DAYS", default: 90)
        venueRectifyDays = try environment.integer("VENUE_RECTIFY_DAYS", default: 15)
        poll = .milliseconds(try environment.integer("HAZARD_POLL_MS", default: 1000))
    }
}
