import Foundation

// What assessment publishes: each subject's tier with its reasons, and the watch ledgers' changes.

// MARK: - risk.assessed.v1 (assessment → intervention at high and critical, notification at critical)

/// A subject's risk tier changed.
///
/// Published with the tier in its routing key (`risk.assessed.v1.high`), so that each service binds the tiers it
/// acts on: intervention high and critical, notification critical; a reader of every tier binds `risk.assessed.v1.#`.
/// Below high no platform service acts on it (the minor is watched in assessment's ledgers), so there it is an
/// announcement: written only where the operator names `risk.assessed.v1` in `ANNOUNCE`.
public struct RiskAssessedV1: EventPayload, Hashable {
    public static let eventType = EventType("risk.assessed", major: 1)
    public static let hasAnnouncements = true

    /// The routing key of an assessment at `tier`, e.g. `risk.assessed.v1.critical`.
    public static func routingKey(_ tier: RiskTier) -> String { "\(eventType.routingKey).\(tier.rawValue)" }
    public var routingKey: String { Self.routingKey(tier) }
    public var isAnnouncement: Bool { tier < .high }

    /// A factor that counted, with its weight in the model used.
    public struct Factor: Codable, Sendable, Hashable {
        /// The factor's id in the model, e.g. `bullying_victim`.
        public var id: String
        /// `personal`, `guardianship`, `school` or `social`.
        public var dimension: String
        public var weight: Double

        public init(id: String, dimension: String, weight: Double) {
            self.id = id
            self.dimension = dimension
            self.weight = weight
        }
    }

    public var subjectID: String
    public var tier: RiskTier
    public var previousTier: RiskTier?
    public var score: Double
    /// Why: the factors or triggers that produced the tier.
    public var reasons: [String]
    public var modelVersion: String
    /// A first tier set from one report, before the full model has run.
    public var provisional: Bool
    /// Immediate danger: act now.
    public var urgent: Bool
    public var schoolCode: String?
    public var assessedAt: Date
    /// The factors that produced the score (added in 1.1; absent from provisional assessments).
    public var factors: [Factor]?

    public init(
        subjectID: String, tier: RiskTier, previousTier: RiskTier?, score: Double, reasons: [String],
        modelVersion: String, provisional: Bool, urgent: Bool, schoolCode: String?, assessedAt: Date, factors: [Factor]? = nil
    ) {
        self.subjectID = subjectID
        self.tier = tier
        self.previousTier = previousTier
        self.score = score
        self.reasons = reasons
        self.modelVersion = modelVersion
        self.provisional = provisional
        self.urgent = urgent
        self.schoolCode = schoolCode
        self.assessedAt = assessedAt
        self.factors = factors
    }

    enum CodingKeys: String, CodingKey {
        case subjectID = "subjectId", tier, previousTier, score, reasons, modelVersion, provisional, urgent, schoolCode, assessedAt, factors
    }
}

// MARK: - ledger.changed.v1 (assessment → all)

/// A subject entered or left one of the watch ledgers (台账). An announcement: published only when the
/// operator turns it on (`ANNOUNCE`); the platform's own services read the ledgers from assessment.
public struct LedgerChangedV1: EventPayload, Hashable {
    public static let eventType = EventType("ledger.changed", major: 1)
    public static let isAnnouncement = true

    /// The ledgers the articles ask for.
    public enum Ledger: String, Codable, Sendable, CaseIterable {
        /// 心理风险学生
        case psychologicalRisk = "psychological_risk"
        /// 欺凌倾向学生
        case bullyProne = "bully_prone"
        /// 违法犯罪未成年人
        case delinquent
        /// 不良行为未成年人
        case badBehaviour = "bad_behaviour"
        /// 辍学风险学生
        case dropoutRisk = "dropout_risk"
        /// 需救助的受害者
        case victimsNeedingAid = "victims_needing_aid"
        /// 困境儿童
        case childrenInHardship = "children_in_hardship"
    }

    public enum Change: String, Codable, Sendable, CaseIterable { case entered, left }

    public var subjectID: String
    public var ledger: Ledger
    public var change: Change
    /// Why: the factors that put the subject on the ledger, or that no longer hold.
    public var reason: String
    public var tier: RiskTier
    public var schoolCode: String?
    /// The county-level division code (the first six digits of the school code).
    public var district: String?
    public var modelVersion: String
    public var at: Date

    public init(subjectID: String, ledger: Ledger, change: Change, reason: String, tier: RiskTier, schoolCode: String?,
                district: String?, modelVersion: String, at: Date) {
        self.subjectID = subjectID
        self.ledger = ledger
        self.change = change
        self.reason = reason
        self.tier = tier
        self.schoolCode = schoolCode
        self.district = district
        self.modelVersion = modelVersion
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case subjectID = "subjectId", ledger, change, reason, tier, schoolCode, district, modelVersion, at
    }
}

extension Contracts {
    /// What assessment publishes.
    public static let assessmentPayloads: [any EventPayload.Type] = [RiskAssessedV1.self, LedgerChangedV1.self]
}
