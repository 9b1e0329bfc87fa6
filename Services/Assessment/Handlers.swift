import Contracts
import Foundation
import ServiceKit

/// What assessment does with the events it consumes: the signals they carry are applied to the subjects they
/// name and each is re-assessed (``AssessmentStore/apply(_:others:model:now:cause:causes:on:logger:)``); a seal
/// order seals a minor's offence record. A batch's events are applied together, in waves: each wave holds at
/// most one event per subject, in the order they arrived, and is applied in a fixed number of statements.
struct AssessmentHandlers: Sendable {
    let model: ActiveModel
    let clock: any WallClock

    /// What one event asks of assessment.
    enum Work: Sendable {
        /// Signals about subjects; a screening batch is also kept as a count.
        case observe([Observation], screening: ScreeningBatchAcceptedV1?)
        /// A seal order (档案封存): the minor's offence record is kept but neither counted nor shown.
        case seal(subjectID: String, sealed: Bool)

        var subjects: Set<String> {
            switch self {
            case .observe(let observations, _): Set(observations.map(\.subjectID))
            case .seal(let subjectID, _): [subjectID]
            }
        }
    }

    static let subjects = HandlerGroup<Work>("assessment.subjects")

    func register(_ handlers: inout HandlerRegistry) {
        func observe<P: EventPayload>(_ type: P.Type, _ observe: @escaping @Sendable (P, String) -> [Observation]) {
            handlers.on(P.self, in: Self.subjects) { event, context in .observe(observe(event, context.envelope.id), screening: nil) }
        }
        observe(ReportAcceptedV1.self, FactorMapping.observations)
        observe(HotlineCallAcceptedV1.self, FactorMapping.observations)
        handlers.on(ScreeningBatchAcceptedV1.self, in: Self.subjects) { batch, context in
            .observe(FactorMapping.observations(batch, eventID: context.envelope.id), screening: batch)
        }
        observe(AttendanceSignalAcceptedV1.self, FactorMapping.observations)
        observe(FamilySituationAcceptedV1.self, FactorMapping.observations)
        observe(VenueFindingAcceptedV1.self, FactorMapping.observations)
        observe(CaseLeadAcceptedV1.self, FactorMapping.observations)
        handlers.on(SubjectSealedV1.self, in: Self.subjects) { order, _ in .seal(subjectID: order.subjectID, sealed: order.sealed) }
        handlers.together(Self.subjects) { events in try await self.apply(events) }
    }

    /// Applies a batch's events in waves.
    func apply(_ events: [(item: Work, context: HandlerContext)]) async throws {
        guard let first = events.first?.context else { return }
        let model = try await first.readOnce("assessment.model") { try await self.model.current(on: first.connection, logger: first.logger) }
        let waves = Waves.of(events.map(\.item.subjects))
        if waves.count > 1 {
            // Every subject the batch names, locked in id order before the first wave, as a batch of one wave locks them.
            try await AssessmentStore.lock(Array(Set(events.flatMap(\.item.subjects))), on: first.connection, logger: first.logger)
        }
        for wave in waves {
            var observations: [Observation] = []
            var causes: [String: String] = [:]
            var contexts: [String: HandlerContext] = [:]
            for index in wave {
                let (work, context) = events[index]
                switch work {
                case .seal(let subjectID, let sealed):
                    try await context.emit(try await AssessmentStore.seal(
                        subjectID, sealed: sealed, model: model, now: clock.now(), cause: context.envelope.id,
                        on: context.connection, logger: context.logger))
                case .observe(let observed, let screening):
                    if let screening { try await ScreeningStore.record(screening, on: context.connection, logger: context.logger) }
                    // A lead under a seal order seals the minor's whole offence record, as an order through intervention does.
                    for subject in Set(observed.filter { $0.signals.contains { $0.sealed } }.map(\.subjectID)).sorted() {
                        try await context.emit(try await AssessmentStore.seal(
                            subject, sealed: true, model: model, now: clock.now(), cause: context.envelope.id,
                            on: context.connection, logger: context.logger))
                    }
                    observations += observed
                    for subject in work.subjects {
                        causes[subject] = context.envelope.id
                        contexts[subject] = context
                    }
                }
            }
            guard !observations.isEmpty, let firstOfWave = wave.first.map({ events[$0].context }) else { continue }
            let emissions = try await AssessmentStore.apply(
                observations, model: model, now: clock.now(), cause: firstOfWave.envelope.id, causes: causes,
                on: firstOfWave.connection, logger: firstOfWave.logger)
            // Each event emits what the re-assessment of its own subjects brought.
            for emission in emissions {
                try await (emission.subject.flatMap { contexts[$0] } ?? firstOfWave).emit([emission])
            }
        }
    }
}
