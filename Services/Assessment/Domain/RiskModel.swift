import Contracts
import Foundation

/// The risk model: the 21 factors in four dimensions with their weights, how
/// long a signal counts, tier thresholds, hard triggers and the ledger rules.
/// It is data (`Models/*.json`, then the `assessment.models` table), and
/// versioned: every assessment names the version it used.
struct RiskModel: Codable, Sendable, Hashable {
    static let dimensions = ["personal", "guardianship", "school", "social"]

    struct Factor: Codable, Sendable, Hashable {
        var id: String
        /// `personal`, `guardianship`, `school` or `social`.
        var dimension: String
        var name: String
        var weight: Double
        /// How long a signal counts, in days; nil: until cleared.
        var days: Int?
    }

    /// A hard trigger (immediate danger, sexual abuse): critical at once, whatever the score.
    struct Trigger: Codable, Sendable, Hashable {
        var id: String
        var name: String
        var days: Int?
    }

    /// A marker carries no weight; it only places a subject on a ledger (e.g. harmed by another).
    typealias Marker = Trigger

    struct Thresholds: Codable, Sendable, Hashable {
        var medium: Double
        var high: Double
        var critical: Double
    }

    var version: String
    var description: String?
    var thresholds: Thresholds
    var factors: [Factor]
    var triggers: [Trigger]
    var markers: [Marker]
    /// Ledger name → the factors, triggers or markers that place a subject on it.
    var ledgers: [String: [String]]

    /// The model shipped with the service (`Models/cangshan-21.v1.json`).
    static func builtIn() throws -> (model: RiskModel, json: String) {
        guard let url = Bundle.module.url(forResource: "cangshan-21.v1", withExtension: "json", subdirectory: "Models") else {
            throw CocoaError(.fileNoSuchFile)
        }
        let data = try Data(contentsOf: url)
        return (try JSONDecoder().decode(RiskModel.self, from: data), String(decoding: data, as: UTF8.self))
    }

    /// What is wrong with a model someone wants to load, field by field.
    func problems() -> [FieldError] {
        var problems: [FieldError] = []
        if version.isEmpty || version.count > 64 { problems.append(FieldError(field: "/version", problem: "must be 1 to 64 characters")) }
        if !(0 < thresholds.medium && thresholds.medium < thresholds.high && thresholds.high < thresholds.critical) {
            problems.append(FieldError(field: "/thresholds", problem: "must rise: 0 < medium < high < critical"))
        }
        var ids: Set<String> = []
        for (index, factor) in factors.enumerated() {
            if !ids.insert(factor.id).inserted { problems.append(FieldError(field: "/factors/\(index)/id", problem: "\(factor.id) appears twice")) }
            if !Self.dimensions.contains(factor.dimension) {
                problems.append(FieldError(field: "/factors/\(index)/dimension", problem: "unknown dimension", allowed: Self.dimensions.joined(separator: ", ")))
            }
            if !(factor.weight >= 0 && factor.weight.isFinite) { problems.append(FieldError(field: "/factors/\(index)/weight", problem: "must be 0 or more")) }
            if let days = factor.days, days <= 0 { problems.append(FieldError(field: "/factors/\(index)/days", problem: "must be positive, or absent for until cleared")) }
        }
        for (index, other) in (triggers + markers).enumerated() where !ids.insert(other.id).inserted {
            problems.append(FieldError(field: "/triggers+markers/\(index)/id", problem: "\(other.id) appears twice"))
        }
        for factor in FactorMapping.sourcedFactors where !ids.contains(factor) {
            problems.append(FieldError(field: "/factors", problem: "lacks \(factor), which events set"))
        }
        let ledgerNames = LedgerChangedV1.Ledger.allCases.map(\.rawValue)
        for (name, members) in ledgers {
            if !ledgerNames.contains(name) {
                problems.append(FieldError(field: "/ledgers/\(name)", problem: "unknown ledger", allowed: ledgerNames.joined(separator: ", ")))
            }
            for member in members where !ids.contains(member) {
                problems.append(FieldError(field: "/ledgers/\(name)", problem: "names \(member), which is no factor, trigger or marker"))
            }
        }
        return problems
    }

    /// How long a signal for `id` counts.
    func days(_ id: String) -> Int?? {
        if let factor = factors.first(where: { $0.id == id }) { return .some(factor.days) }
        if let other = (triggers + markers).first(where: { $0.id == id }) { return .some(other.days) }
        return nil
    }
}

/// One thing an event says about a subject: a factor (or trigger, or marker)
/// holds from `at`, or no longer holds from `at`.
struct Signal: Sendable, Hashable {
    enum Kind: String, Sendable { case set, clear }

    var factor: String
    var kind: Kind
    /// When it became true (the event's own time, not when it arrived).
    var at: Date
    /// The event that said so; with `at`, it orders signals the same way on every replica.
    var eventID: String
    /// Why, in fixed words: never a name or a narrative.
    var detail: String
    /// What kind of matter it came from: `offence` for what a minor is said to have done (a case lead, a
    /// report naming them as the alleged perpetrator) — the record a seal order (档案封存) hides.
    var matter: Matter? = nil
    /// Hidden by a seal order: kept, never counted or shown, until an order unseals it.
    var sealed = false

    enum Matter: String, Sendable { case offence }
}

/// A subject's assessment under one model at one time.
struct Evaluation: Sendable, Hashable {
    struct Counted: Sendable, Hashable {
        var id: String
        var dimension: String
        var weight: Double
        var signal: Signal
    }

    var tier: RiskTier
    var score: Double
    /// A hard trigger holds: act now.
    var urgent: Bool
    var factors: [Counted]
    var triggers: [Counted]
    var markers: [Counted]
    /// Each ledger the subject is on, with the ids that put it there.
    var ledgers: [LedgerChangedV1.Ledger: [String]]
    /// The earliest time something counted stops counting; re-assess then.
    var nextChange: Date?

    var reasons: [String] {
        (triggers + factors).map { "\($0.id)\($0.weight > 0 ? " (\(Self.number($0.weight)))" : ""): \($0.signal.detail)" }
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// The events whose signals put the subject on a ledger.
    func ledgerEvents(_ ledger: LedgerChangedV1.Ledger) -> [String] {
        let ids = ledgers[ledger] ?? []
        return Array(Set((factors + triggers + markers).filter { ids.contains($0.id) }.map(\.signal.eventID))).sorted()
    }

    func ledgerReason(_ ledger: LedgerChangedV1.Ledger) -> String {
        let ids = ledgers[ledger] ?? []
        return (factors + triggers + markers).filter { ids.contains($0.id) }.map { "\($0.id): \($0.signal.detail)" }.joined(separator: "; ")
    }
}

extension RiskModel {
    /// Assesses a subject from every signal ever recorded for them. The
    /// latest signal per factor (by time, then event id) decides whether it
    /// holds, so the result does not depend on the order events arrived in.
    /// - Parameters:
    ///   - signals: All of the subject's signals.
    ///   - now: The time of the assessment; signals older than their factor's `days` no longer count.
    func evaluate(_ signals: [Signal], at now: Date) -> Evaluation {
        var latest: [String: Signal] = [:]
        for signal in signals {
            if let current = latest[signal.factor], (current.at, current.eventID) >= (signal.at, signal.eventID) { continue }
            latest[signal.factor] = signal
        }
        var nextChange: Date?
        func holding(_ id: String, days: Int?) -> Signal? {
            guard let signal = latest[id], signal.kind == .set else { return nil }
            guard let days else { return signal }
            let end = signal.at.addingTimeInterval(Double(days) * 86_400)
            guard end > now else { return nil }
            nextChange = min(nextChange ?? end, end)
            return signal
        }
        let factors = self.factors.compactMap { factor in
            holding(factor.id, days: factor.days).map { Evaluation.Counted(id: factor.id, dimension: factor.dimension, weight: factor.weight, signal: $0) }
        }
        let triggers = self.triggers.compactMap { trigger in
            holding(trigger.id, days: trigger.days).map { Evaluation.Counted(id: trigger.id, dimension: "trigger", weight: 0, signal: $0) }
        }
        let markers = self.markers.compactMap { marker in
            holding(marker.id, days: marker.days).map { Evaluation.Counted(id: marker.id, dimension: "marker", weight: 0, signal: $0) }
        }
        let score = factors.reduce(0) { $0 + $1.weight }
        let tier: RiskTier = !triggers.isEmpty || score >= thresholds.critical ? .critical
            : score >= thresholds.high ? .high : score >= thresholds.medium ? .medium : .low
        let present = Set((factors + triggers + markers).map(\.id))
        var ledgers: [LedgerChangedV1.Ledger: [String]] = [:]
        for (name, members) in self.ledgers {
            guard let ledger = LedgerChangedV1.Ledger(rawValue: name) else { continue }
            let held = members.filter(present.contains)
            if !held.isEmpty { ledgers[ledger] = held }
        }
        return Evaluation(
            tier: tier, score: score, urgent: !triggers.isEmpty, factors: factors, triggers: triggers, markers: markers,
            ledgers: ledgers, nextChange: nextChange)
    }
}
