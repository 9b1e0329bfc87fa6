import Contracts
import Foundation
import ServiceKit

/// What a school's quarter amounts to, for its safety rating.
struct QuarterFacts: Codable, Sendable, Hashable {
    var inspections: Int
    /// Hazards past their deadline at the quarter's end: still open, or rectified late.
    var lateHazards: Int
    /// Of those, the critical ones.
    var lateCriticalHazards: Int
    /// Hazards still open at the quarter's end.
    var openHazards: Int
    var incidents: Int
    /// One-key alarm working and linked to 110, a police officer assigned, a legal vice-principal, a staffed guard post.
    var fullCoverage: Bool
}

/// The published rules of the quarterly rating (configurable).
///
/// - **Non-compliant (不合格)** when any holds: a critical hazard late at the quarter's end; `NON_COMPLIANT_LATE_HAZARDS`
///   (2) or more hazards late; no inspection in the quarter.
/// - **Model (示范)** when all hold: at least `MODEL_MIN_INSPECTIONS` (3) inspections; no hazard late; none open at the
///   quarter's end; at most `MODEL_MAX_INCIDENTS` (1) incidents; full coverage.
/// - **Compliant (达标)** otherwise.
///
/// | variable | default |
/// |---|---|
/// | `NON_COMPLIANT_LATE_HAZARDS` | `2` |
/// | `MODEL_MIN_INSPECTIONS` | `3` |
/// | `MODEL_MAX_INCIDENTS` | `1` |
struct RatingRules: Codable, Sendable, Hashable {
    var nonCompliantLateHazards = 2
    var modelMinInspections = 3
    var modelMaxIncidents = 1

    init() {}

    init(environment: [String: String]) throws {
        let environment = EnvironmentReader(environment)
        nonCompliantLateHazards = try environment.integer("NON_COMPLIANT_LATE_HAZARDS", default: 2, minimum: 1)
        modelMinInspections = try environment.integer("MODEL_MIN_INSPECTIONS", default: 3, minimum: 0)
        modelMaxIncidents = try environment.integer("MODEL_MAX_INCIDENTS", default: 1, minimum: 0)
    }

    /// The rating and the rules that decided it.
    func rate(_ facts: QuarterFacts) -> (rating: RatingChangedV1.Rating, reasons: [String]) {
        var failing: [String] = []
        if facts.lateCriticalHazards > 0 { failing.append("\(facts.lateCriticalHazards) critical hazard(s) late at the quarter's end") }
        if facts.lateHazards >= nonCompliantLateHazards {
            failing.append("\(facts.lateHazards) hazards late at the quarter's end (non-compliant at \(nonCompliantLateHazards) or more)")
        }
        if facts.inspections == 0 { failing.append("no inspection in the quarter") }
        if !failing.isEmpty { return (.nonCompliant, failing) }

        var missing: [String] = []
        if facts.inspections < modelMinInspections { missing.append("\(facts.inspections) inspections (a model school has \(modelMinInspections) or more)") }
        if facts.lateHazards > 0 { missing.append("\(facts.lateHazards) hazard(s) late") }
        if facts.openHazards > 0 { missing.append("\(facts.openHazards) hazard(s) open at the quarter's end") }
        if facts.incidents > modelMaxIncidents { missing.append("\(facts.incidents) incidents (a model school has at most \(modelMaxIncidents))") }
        if !facts.fullCoverage { missing.append("coverage incomplete (alarm linked to 110, police officer, legal vice-principal, guard post)") }
        if missing.isEmpty {
            return (.model, ["\(facts.inspections) inspections, no hazard late or open, \(facts.incidents) incident(s), full coverage"])
        }
        return (.compliant, ["not a model school: " + missing.joined(separator: "; ")])
    }

    /// Whether a computed rating is news: the first for the school and quarter, or a different one.
    /// - Parameters:
    ///   - stored: The rating already recorded for this quarter, if any.
    ///   - computed: The rating just computed.
    static func changed(stored: RatingChangedV1.Rating?, computed: RatingChangedV1.Rating) -> Bool {
        stored != computed
    }

    /// A school falls when its rating is below the previous quarter's.
    static func fell(previous: RatingChangedV1.Rating?, now: RatingChangedV1.Rating) -> Bool {
        previous.map { now < $0 } ?? false
    }
}
