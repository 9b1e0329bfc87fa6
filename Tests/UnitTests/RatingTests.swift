import Contracts
import Foundation
@testable import Inspection
import Testing

/// The quarterly safety rating's published rules, at their boundaries.
@Suite("School safety rating")
struct RatingTests {
    static let rules = RatingRules()
    /// A model school's quarter: every model rule met exactly.
    static let model = QuarterFacts(inspections: 3, lateHazards: 0, lateCriticalHazards: 0, openHazards: 0, incidents: 1, fullCoverage: true)

    func rating(_ change: (inout QuarterFacts) -> Void) -> RatingChangedV1.Rating {
        var facts = Self.model
        change(&facts)
        return Self.rules.rate(facts).rating
    }

    @Test("model: three inspections, nothing late or open, at most one incident, full coverage — each rule at its edge")
    func modelBoundaries() {
        #expect(rating { _ in } == .model)
        #expect(rating { $0.inspections = 2 } == .compliant)
        #expect(rating { $0.inspections = 30 } == .model)
        #expect(rating { $0.incidents = 2 } == .compliant)
        #expect(rating { $0.incidents = 0 } == .model)
        #expect(rating { $0.openHazards = 1 } == .compliant)
        #expect(rating { $0.lateHazards = 1 } == .compliant)
        #expect(rating { $0.fullCoverage = false } == .compliant)
    }

    @Test("non-compliant: two late hazards, any late critical one, or no inspection — each rule at its edge")
    func nonCompliantBoundaries() {
        #expect(rating { $0.lateHazards = 1 } == .compliant)
        #expect(rating { $0.lateHazards = 2 } == .nonCompliant)
        #expect(rating { $0.lateHazards = 1; $0.lateCriticalHazards = 1 } == .nonCompliant)
        #expect(rating { $0.inspections = 1 } == .compliant)
        #expect(rating { $0.inspections = 0 } == .nonCompliant)
        // Non-compliance wins over everything a model school has.
        #expect(rating { $0.inspections = 0; $0.incidents = 0 } == .nonCompliant)
    }

    @Test("each rating says why, rule by rule")
    func reasons() {
        var facts = Self.model
        facts.lateHazards = 3
        facts.inspections = 0
        let (rating, reasons) = Self.rules.rate(facts)
        #expect(rating == .nonCompliant)
        #expect(reasons.count == 2)
        #expect(reasons.contains { $0.contains("3 hazards late") })
        #expect(reasons.contains("no inspection in the quarter"))
        facts = Self.model
        facts.inspections = 2
        facts.fullCoverage = false
        #expect(Self.rules.rate(facts).reasons.first?.contains("2 inspections") == true)
        #expect(Self.rules.rate(facts).reasons.first?.contains("coverage incomplete") == true)
    }

    @Test("the rules are configurable")
    func configurable() throws {
        let strict = try RatingRules(environment: ["NON_COMPLIANT_LATE_HAZARDS": "1", "MODEL_MIN_INSPECTIONS": "5", "MODEL_MAX_INCIDENTS": "0"])
        var facts = Self.model
        facts.lateHazards = 1
        #expect(strict.rate(facts).rating == .nonCompliant)
        #expect(strict.rate(Self.model).rating == .compliant)
    }

    @Test("a school rises and falls against the quarter before")
    func risingAndFalling() {
        #expect(RatingRules.fell(previous: .model, now: .compliant))
        #expect(RatingRules.fell(previous: .compliant, now: .nonCompliant))
        #expect(!RatingRules.fell(previous: .compliant, now: .model))
        #expect(!RatingRules.fell(previous: .compliant, now: .compliant))
        #expect(!RatingRules.fell(previous: nil, now: .nonCompliant))
    }

    @Test("recomputing a quarter twice gives one result and one event")
    func idempotent() {
        let first = Self.rules.rate(Self.model).rating
        #expect(RatingRules.changed(stored: nil, computed: first))
        let again = Self.rules.rate(Self.model).rating
        #expect(again == first)
        #expect(!RatingRules.changed(stored: first, computed: again))
        // A changed quarter (a late hazard found afterwards) is news again.
        var facts = Self.model
        facts.lateHazards = 2
        #expect(RatingRules.changed(stored: first, computed: Self.rules.rate(facts).rating))
    }

    @Test("quarters in China Standard Time: bounds, the one before, and a date's quarter")
    func quarters() {
        let (start, end) = Quarter.bounds("2026-Q4")!
        #expect(Quarter.of(start) == "2026-Q4")
        #expect(Quarter.of(end) == "2027-Q1")
        #expect(Quarter.of(end.addingTimeInterval(-1)) == "2026-Q4")
        #expect(Quarter.previous("2026-Q1") == "2025-Q4")
        #expect(Quarter.bounds("2026-Q5") == nil)
        // Only as a quarter is written: these would be stored under a second name for 2026-Q4.
        #expect(Quarter.bounds("2026-Q04") == nil && Quarter.bounds("2026-Q+4") == nil && Quarter.bounds("-2026-Q4") == nil)
        #expect(Quarter.recent(3, upTo: "2026-Q1") == ["2025-Q3", "2025-Q4", "2026-Q1"])
        // 2026-09-30T16:30Z is 1 October 00:30 in Beijing.
        #expect(Quarter.of(Date(timeIntervalSince1970: 1_790_785_800)) == "2026-Q4")
    }
}
