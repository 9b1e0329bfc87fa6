@testable import Assessment
import Contracts
import Foundation
import Testing

/// The factor model and the event-to-factor mapping, without a database.
@Suite("Assessment model")
struct AssessmentModelTests {
    static let model = try! RiskModel.builtIn().model
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let subject = "s-00000000000000000000000000000001"

    static func set(_ factor: String, daysAgo: Double = 1, event: String = "e1") -> Signal {
        Signal(factor: factor, kind: .set, at: now.addingTimeInterval(-daysAgo * 86_400), eventID: event, detail: "test")
    }

    static func ids(_ observations: [Observation]) -> [String] {
        observations.flatMap { $0.signals.map(\.factor) }.sorted()
    }

    @Test("the built-in model has the 21 factors in four dimensions and is valid")
    func builtIn() {
        let model = Self.model
        #expect(model.factors.count == 21)
        #expect(Set(model.factors.map(\.dimension)) == Set(RiskModel.dimensions))
        #expect(model.factors.filter { $0.dimension == "personal" }.count == 7)
        #expect(model.factors.filter { $0.dimension == "guardianship" }.count == 7)
        #expect(model.factors.filter { $0.dimension == "school" }.count == 5)
        #expect(model.factors.filter { $0.dimension == "social" }.count == 2)
        #expect(model.problems().isEmpty)
        #expect(Set(model.ledgers.keys) == Set(LedgerChangedV1.Ledger.allCases.map(\.rawValue)))
    }

    @Test("a model with falling thresholds, an unknown dimension, a duplicate or a missing sourced factor is refused")
    func invalidModels() {
        var model = Self.model
        model.thresholds.high = 10
        model.factors[0].dimension = "astrology"
        model.factors[1].id = model.factors[2].id
        model.factors.removeAll { $0.id == "left_behind" }
        model.ledgers["wishful"] = ["left_behind"]
        let fields = Set(model.problems().map(\.field))
        #expect(fields.contains("/thresholds"))
        #expect(fields.contains("/factors/0/dimension"))
        #expect(fields.contains("/factors/2/id"))
        #expect(fields.contains("/factors"))
        #expect(fields.contains("/ledgers/wishful"))
    }

    @Test("tier boundaries: below, at and above each threshold")
    func boundaries() {
        var model = Self.model
        model.thresholds = .init(medium: 20, high: 40, critical: 70)
        func tier(_ weights: [Double]) -> RiskTier {
            model.factors = weights.enumerated().map { .init(id: "f\($0.offset)", dimension: "personal", name: "f", weight: $0.element, days: nil) }
            return model.evaluate(weights.indices.map { Self.set("f\($0)", event: "e\($0)") }, at: Self.now).tier
        }
        #expect(tier([]) == .low)
        #expect(tier([19.9]) == .low)
        #expect(tier([20]) == .medium)
        #expect(tier([39]) == .medium)
        #expect(tier([20, 20]) == .high)
        #expect(tier([69.5]) == .high)
        #expect(tier([40, 30]) == .critical)
    }

    @Test("the score is the sum of the weights that hold, each named with its weight in the reasons")
    func scoreAndReasons() {
        let evaluation = Self.model.evaluate([Self.set("bullying_victim"), Self.set("left_behind", event: "e2")], at: Self.now)
        #expect(evaluation.score == 50)
        #expect(evaluation.tier == .high)
        #expect(Set(evaluation.factors.map(\.id)) == ["bullying_victim", "left_behind"])
        #expect(evaluation.reasons.contains("bullying_victim (40): test"))
    }

    @Test("hard triggers make a subject critical and urgent whatever the score", arguments: ["immediate_danger", "sexual_abuse"])
    func hardTriggers(trigger: String) {
        let evaluation = Self.model.evaluate([Self.set(trigger)], at: Self.now)
        #expect(evaluation.score == 0)
        #expect(evaluation.tier == .critical)
        #expect(evaluation.urgent)
    }

    @Test("a signal ages out after its factor's days; a factor without days holds until cleared")
    func ageing() {
        // chronic_absence counts 90 days.
        #expect(Self.model.evaluate([Self.set("chronic_absence", daysAgo: 89)], at: Self.now).factors.map(\.id) == ["chronic_absence"])
        #expect(Self.model.evaluate([Self.set("chronic_absence", daysAgo: 91)], at: Self.now).factors.isEmpty)
        // The next change is when it ages out.
        let evaluation = Self.model.evaluate([Self.set("chronic_absence", daysAgo: 89)], at: Self.now)
        #expect(evaluation.nextChange == Self.now.addingTimeInterval(86_400))
        // left_behind has no days.
        #expect(Self.model.evaluate([Self.set("left_behind", daysAgo: 4000)], at: Self.now).factors.map(\.id) == ["left_behind"])
        // The immediate-danger trigger lasts 30 days.
        #expect(!Self.model.evaluate([Self.set("immediate_danger", daysAgo: 31)], at: Self.now).urgent)
    }

    @Test("the latest signal decides, by time then event id, whatever order they arrive in")
    func orderIndependence() {
        let positive = Signal(factor: "positive_screening", kind: .set, at: Self.now.addingTimeInterval(-20 * 86_400), eventID: "a", detail: "")
        let negative = Signal(factor: "positive_screening", kind: .clear, at: Self.now.addingTimeInterval(-10 * 86_400), eventID: "b", detail: "")
        #expect(Self.model.evaluate([positive, negative], at: Self.now).factors.isEmpty)
        #expect(Self.model.evaluate([negative, positive], at: Self.now).factors.isEmpty)
        let later = Signal(factor: "positive_screening", kind: .set, at: Self.now.addingTimeInterval(-5 * 86_400), eventID: "c", detail: "")
        #expect(Self.model.evaluate([later, negative, positive], at: Self.now).factors.map(\.id) == ["positive_screening"])
    }

    @Test("ledgers: entered with the factors that hold, left when none does")
    func ledgers() {
        let on = Self.model.evaluate([Self.set("enrolled_absent"), Self.set("left_behind", event: "e2")], at: Self.now)
        #expect(on.ledgers[.dropoutRisk] == ["enrolled_absent"])
        #expect(on.ledgers[.childrenInHardship] == ["left_behind"])
        #expect(on.ledgerReason(.dropoutRisk) == "enrolled_absent: test")
        let returned = Signal(factor: "enrolled_absent", kind: .clear, at: Self.now, eventID: "e3", detail: "returned")
        let off = Self.model.evaluate([Self.set("enrolled_absent"), Self.set("left_behind", event: "e2"), returned], at: Self.now)
        #expect(off.ledgers[.dropoutRisk] == nil)
        #expect(off.ledgers[.childrenInHardship] == ["left_behind"])
        // Every ledger can be entered from some factor, trigger or marker.
        let everything = (Self.model.factors.map(\.id) + Self.model.triggers.map(\.id) + Self.model.markers.map(\.id))
            .enumerated().map { Self.set($0.element, event: "e\($0.offset)") }
        #expect(Set(Self.model.evaluate(everything, at: Self.now).ledgers.keys) == Set(LedgerChangedV1.Ledger.allCases))
    }

    // MARK: The mapping, event by event

    func report(_ category: IncidentCategory, _ role: PersonRole, danger: Bool = false) -> [String] {
        Self.ids(FactorMapping.observations(ReportAcceptedV1(
            reportID: "r", agency: "a", externalID: "x", category: category, immediateDanger: danger, occurredAt: Self.now,
            schoolCode: "370102-M03", subjects: [.init(subjectID: Self.subject, role: role)]), eventID: "e"))
    }

    @Test("incident reports: each category and role")
    func incidentMapping() {
        #expect(report(.bullying, .victim) == ["bullying_victim"])
        #expect(report(.bullying, .allegedPerpetrator) == ["bullying_perpetrator"])
        #expect(report(.selfHarm, .victim) == ["self_harm_ideation"])
        #expect(report(.sexualAbuse, .victim) == ["sexual_abuse", "victim_of_harm"])
        #expect(report(.sexualAbuse, .allegedPerpetrator) == ["aggression"])
        #expect(report(.violence, .victim) == ["victim_of_harm"])
        #expect(report(.violence, .allegedPerpetrator) == ["aggression"])
        #expect(report(.drugs, .victim) == ["substance_use"])
        #expect(report(.drugs, .allegedPerpetrator) == ["substance_use"])
        #expect(report(.gang, .allegedPerpetrator) == ["delinquent_peers"])
        #expect(report(.telecomFraud, .allegedPerpetrator) == ["delinquent_peers"])
        #expect(report(.theft, .allegedPerpetrator) == ["disciplinary_record"])
        #expect(report(.runningAway, .victim) == ["guardian_absent_or_unfit"])
        for category in [IncidentCategory.gang, .onlineHarm, .campusLoan, .telecomFraud, .theft] {
            #expect(report(category, .victim) == ["victim_of_harm"])
        }
        // Witnesses and reporters are not assessed.
        #expect(report(.bullying, .witness).isEmpty)
        #expect(report(.violence, .reporter, danger: true).isEmpty)
        // Danger now is a hard trigger for the victim.
        #expect(report(.violence, .victim, danger: true) == ["immediate_danger", "victim_of_harm"])
        let observations = FactorMapping.observations(ReportAcceptedV1(
            reportID: "r", agency: "school-1", externalID: "x", category: .bullying, immediateDanger: false, occurredAt: Self.now,
            schoolCode: "370102-M03", subjects: [.init(subjectID: Self.subject, role: .victim)]), eventID: "e")
        #expect(observations.first?.schoolCode == "370102-M03")
        #expect(observations.first?.agency == "school-1")
        #expect(observations.first?.signals.first?.at == Self.now)
    }

    @Test("hotline calls: each risk flag, and danger now")
    func hotlineMapping() {
        func call(
            _ flags: [HotlineCallV1.RiskFlag], danger: Bool = false, subject: String? = AssessmentModelTests.subject,
            topic: HotlineCallV1.Topic = .psychological, by: HotlineCallV1.HarmedBy? = nil
        ) -> [String] {
            Self.ids(FactorMapping.observations(HotlineCallAcceptedV1(
                intakeID: "i", agency: "hotline", externalID: "x", receivedAt: Self.now, callerRole: .minor, subjectID: subject,
                topic: topic, riskFlags: flags, immediateDanger: danger, cityMatter: false, harmedBy: by), eventID: "e"))
        }
        // Violence at home: a guardian's counts as domestic violence and as guardianship that fails the child.
        #expect(call([.violence], by: .guardian) == ["domestic_violence", "guardian_absent_or_unfit", "victim_of_harm"])
        #expect(call([.abuse], by: .guardian) == ["domestic_violence", "guardian_absent_or_unfit"])
        #expect(call([.violence], by: .familyMember) == ["domestic_violence", "victim_of_harm"])
        #expect(call([.violence], topic: .family) == ["domestic_violence", "victim_of_harm"])
        #expect(call([.violence], by: .peer) == ["victim_of_harm"])
        #expect(call([.selfHarm]) == ["self_harm_ideation"])
        #expect(call([.abuse]) == ["domestic_violence"])
        #expect(call([.violence]) == ["victim_of_harm"])
        #expect(call([.bullying]) == ["bullying_victim"])
        #expect(call([.neglect]) == ["guardian_absent_or_unfit"])
        #expect(call([.runningAway]).isEmpty)
        #expect(call([.selfHarm], danger: true) == ["immediate_danger", "self_harm_ideation"])
        #expect(call([.selfHarm], subject: nil).isEmpty)
    }

    @Test("screening: positive sets, negative clears")
    func screeningMapping() {
        let observations = FactorMapping.observations(ScreeningBatchAcceptedV1(
            intakeID: "i", agency: "school", externalID: "x", schoolCode: "370102-M03", scale: "MHT", screenedAt: Self.now,
            results: [.init(subjectID: "s-1", score: 70, threshold: 65), .init(subjectID: "s-2", score: 10, threshold: 65)], rejectedRows: 0), eventID: "e")
        #expect(observations.map { $0.signals.map(\.kind) } == [[.set], [.clear]])
        #expect(observations.allSatisfy { $0.signals.map(\.factor) == ["positive_screening"] })
    }

    @Test("attendance: each kind; returning clears both")
    func attendanceMapping() {
        func signals(_ kind: AttendanceSignalV1.Kind) -> [String] {
            FactorMapping.observations(AttendanceSignalAcceptedV1(
                intakeID: "i", agency: "school", externalID: "x", schoolCode: "370102-M03", subjectID: Self.subject, kind: kind,
                since: "2026-10-08", daysAbsent: 3), eventID: "e").flatMap { $0.signals.map { "\($0.kind.rawValue):\($0.factor)" } }.sorted()
        }
        for kind in [AttendanceSignalV1.Kind.suspended, .repeatedLeave, .longLeave] { #expect(signals(kind) == ["set:chronic_absence"]) }
        #expect(signals(.enrolledAbsent) == ["set:enrolled_absent"])
        #expect(signals(.droppedOut) == ["set:chronic_absence", "set:enrolled_absent"])
        #expect(signals(.returned) == ["clear:chronic_absence", "clear:enrolled_absent"])
        #expect(FactorMapping.day("2026-10-08") == Date(timeIntervalSince1970: 1_791_388_800))  // 2026-10-08T00:00+08:00
    }

    @Test("family situation: each flag")
    func familyMapping() {
        func factors(_ flags: [FamilySituationV1.Flag]) -> [String] {
            Self.ids(FactorMapping.observations(FamilySituationAcceptedV1(
                intakeID: "i", agency: "civil", externalID: "x", subjectID: Self.subject, schoolCode: nil, flags: flags, notedAt: Self.now), eventID: "e"))
        }
        #expect(factors([.singleParent]) == ["single_parent_or_divorced"])
        #expect(factors([.divorced, .singleParent]) == ["single_parent_or_divorced"])
        #expect(factors([.remarried]) == ["remarried_family"])
        #expect(factors([.leftBehind]) == ["left_behind"])
        #expect(factors([.disabilityInFamily]) == ["disability_in_family"])
        #expect(factors([.hardship]) == ["economic_hardship"])
        #expect(factors([.guardianAbsent]) == ["guardian_absent_or_unfit"])
        #expect(factors([.guardianUnfit]) == ["guardian_absent_or_unfit"])
        #expect(factors([.domesticViolence]) == ["domestic_violence"])
    }

    @Test("venue findings: the venue, each activity, every minor found")
    func venueMapping() {
        func factors(_ kind: VenueFindingV1.VenueKind, _ activities: [VenueFindingV1.Activity], minors: [String] = [AssessmentModelTests.subject]) -> [Observation] {
            FactorMapping.observations(VenueFindingAcceptedV1(
                intakeID: "i", agency: "police", externalID: "x", venue: .init(kind: kind, name: "v"), foundAt: Self.now,
                subjectIDs: minors, activities: activities, actionTaken: .warning), eventID: "e")
        }
        #expect(Self.ids(factors(.ktv, [.present])) == ["prohibited_venues"])
        #expect(Self.ids(factors(.internetCafe, [])) == ["internet_addiction", "prohibited_venues"])
        #expect(Self.ids(factors(.bar, [.gambling, .fighting, .drinking, .smoking])) == ["aggression", "delinquent_peers", "prohibited_venues", "substance_use"])
        #expect(factors(.hotel, [.present], minors: ["s-1", "s-2"]).map(\.subjectID) == ["s-1", "s-2"])
    }

    @Test("case leads: a prior offence; a guardianship order also the guardian; sealed ones say no more")
    func caseLeadMapping() {
        func observation(_ kind: CaseLeadV1.Kind, sealed: Bool = false) -> Observation? {
            FactorMapping.observations(CaseLeadAcceptedV1(
                intakeID: "i", agency: "court", externalID: "x", subjectID: Self.subject, kind: kind, decidedAt: Self.now,
                offence: "theft", sealed: sealed), eventID: "e").first
        }
        #expect(observation(.admonition)?.signals.map(\.factor) == ["prior_offence"])
        #expect(observation(.guardianshipSupervisionOrder)?.signals.map(\.factor) == ["prior_offence", "guardian_absent_or_unfit"])
        #expect(observation(.judgment, sealed: true)?.signals.first?.detail == "case lead (sealed record)")
        #expect(observation(.judgment)?.signals.first?.detail.contains("theft") == false)
    }

    @Test("every factor, trigger and marker the mapping sets is in the model; districts come from school codes")
    func coverage() {
        let known = Set(Self.model.factors.map(\.id) + Self.model.triggers.map(\.id) + Self.model.markers.map(\.id))
        #expect(Set(FactorMapping.sourcedFactors).isSubset(of: known))
        #expect(FactorMapping.district("370102-M03") == "370102")
        #expect(FactorMapping.district("SCHOOL-1") == nil)
        #expect(FactorMapping.district(nil) == nil)
    }
}
