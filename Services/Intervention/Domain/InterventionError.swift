import Foundation

/// Why a case or task operation was refused; the API answers with the matching status.
struct InterventionError: Error, CustomStringConvertible {
    enum Code: Sendable { case notFound, forbidden, conflict, invalid }
    var code: Code
    var description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
