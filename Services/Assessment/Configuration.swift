import Foundation
import ServiceKit

/// Assessment's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `ASSESSMENT_REVIEW_INTERVAL_MS` | `5000` | how often the review sweep looks for subjects due for re-assessment (signals ageing out, a new model) |
/// | `ASSESSMENT_REVIEW_BATCH` | `500` | subjects re-assessed per transaction by the sweep |
struct AssessmentConfiguration: Sendable {
    var reviewInterval: Duration
    var reviewBatch: Int

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let environment = EnvironmentReader(environment)
        reviewInterval = .milliseconds(try environment.integer("ASSESSMENT_REVIEW_INTERVAL_MS", default: 5000))
        reviewBatch = try environment.integer("ASSESSMENT_REVIEW_BATCH", default: 500)
    }
}
