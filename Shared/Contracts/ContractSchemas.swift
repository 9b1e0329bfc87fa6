import Foundation
import Synchronization

/// The JSON Schemas of the contracts, shipped with the library as resources
/// (the same files agencies get in `Shared/Contracts/Schemas`).
public enum ContractSchemas {
    private static let cache = Mutex<[String: JSONSchema]>([:])

    /// The schema of an event type, or nil when the contracts have none.
    /// - Parameter type: The event type.
    public static func schema(for type: EventType) throws -> JSONSchema? {
        if let cached = cache.withLock({ $0[type.name] }) { return cached }
        guard let url = Bundle.module.url(forResource: type.name, withExtension: "json", subdirectory: "Schemas") else {
            return nil
        }
        let schema = try JSONSchema(Array(try Data(contentsOf: url)))
        cache.withLock { $0[type.name] = schema }
        return schema
    }
}
