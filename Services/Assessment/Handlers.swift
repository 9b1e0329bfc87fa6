import Contracts
import Foundation
import ServiceKit

/// What assessment does with each event it consumes: the signals it carries are applied to the subjects
/// it names and each is re-assessed (``AssessmentStore/apply(_:others:model:now:cause:on:logger:)``);
/// a seal order seals a minor's offence record.
struct AssessmentHandlers: Sendable {
    let model: ActiveModel
    let clock: any WallClock

    func register(_ handlers: inout HandlerRegistry) {
        func assess<P: EventPayload>(_ type: P.Type, _ observe: @escaping @Sendable (P, String) -> [Observation]) {
            handlers.on(P.self) { event, context in
                try await self.assess(observe(event, context.envelope.id), context)
                return .applied
            }
        }
        assess(ReportAcceptedV1.self, FactorMapping.observations)
        assess(HotlineCallAcceptedV1.self, FactorMapping.observations)
        // A screening batch is also kept as a count, so that the school sees how many rows were applied.
        handlers.on(ScreeningBatchAcceptedV1.self) { batch, context in
            try await ScreeningStore.record(batch, on: context.connection, logger: context.logger)
            try await self.assess(FactorMapping.observations(batch, eventID: context.envelope.id), context)
            return .applied
        }
        assess(AttendanceSignalAcceptedV1.self, FactorMapping.observations)
        assess(FamilySituationAcceptedV1.self, FactorMapping.observations)
        assess(VenueFindingAcceptedV1.self, FactorMapping.observations)
        assess(CaseLeadAcceptedV1.self, FactorMapping.observations)
        // A seal order (档案封存): the minor's offence record is kept but neither counted nor shown.
        handlers.on(SubjectSealedV1.self) { order, context in
            let model = try await context.readOnce("assessment.model") { try await self.model.current(on: context.connection, logger: context.logger) }
            try await context.emit(try await AssessmentStore.seal(
                order.subjectID, sealed: order.sealed, model: model, now: clock.now(), cause: context.envelope.id,
                on: context.connection, logger: context.logger))
            return .applied
        }
    }

    func assess(_ observations: [Observation], _ context: HandlerContext) async throws {
        guard !observations.isEmpty else { return }
        let model = try await context.readOnce("assessment.model") { try await self.model.current(on: context.connection, logger: context.logger) }
        // A lead under a seal order seals the minor's whole offence record, as an order through intervention does.
        for subject in Set(observations.filter { $0.signals.contains { $0.sealed } }.map(\.subjectID)).sorted() {
            try await context.emit(try await AssessmentStore.seal(
                subject, sealed: true, model: model, now: clock.now(), cause: context.envelope.id, on: context.connection, logger: context.logger))
        }
        let emissions = try await AssessmentStore.apply(
            observations, model: model, now: clock.now(), cause: context.envelope.id, on: context.connection, logger: context.logger)
        try await context.emit(emissions)
    }
}
