import Foundation
import ServiceKit

/// Intake's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `SUBJECT_HASH_KEY` | a development key (logged as a warning) | secret key of the keyed hash that turns identities into subject ids; at least 32 characters |
/// | `SUBJECT_HASH_KEY_FILE` | — | read the key from this file instead |
struct IntakeConfiguration {
    var subjectHashKey: String?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        subjectHashKey = try EnvironmentReader(environment).secret("SUBJECT_HASH_KEY")
    }
}
