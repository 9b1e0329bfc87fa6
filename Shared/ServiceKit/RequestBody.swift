import Contracts
import Foundation
import Hummingbird

/// Why a request body was refused, said the way the contracts' receipts say it: which field (a JSON
/// Pointer), what was wrong, what is allowed — never Swift's own decoding text.
public enum RequestProblem {
    /// The field errors of a body that did not decode.
    /// - Parameter error: What the decoder threw.
    public static func fieldErrors(_ error: any Error) -> [FieldError] {
        guard let error = error as? DecodingError else { return [FieldError(field: "", problem: "is not valid JSON")] }
        switch error {
        case .keyNotFound(let key, let context):
            return [FieldError(field: pointer(context.codingPath + [key]), problem: "is required")]
        case .typeMismatch(let type, let context):
            return [FieldError(field: pointer(context.codingPath), problem: "has the wrong type", allowed: describe(type))]
        case .valueNotFound(let type, let context):
            return [FieldError(field: pointer(context.codingPath), problem: "is null", allowed: describe(type))]
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return [FieldError(field: "", problem: "is not valid JSON")] }
            // An enumeration's unknown value, or a date or number in the wrong form.
            return [FieldError(field: pointer(context.codingPath), problem: "has a value that is not allowed")]
        @unknown default:
            return [FieldError(field: "", problem: "does not match")]
        }
    }

    /// The field errors as one line, e.g. `/measures: is required`.
    /// - Parameter error: What the decoder threw.
    public static func describe(_ error: any Error) -> String {
        fieldErrors(error).map(\.description).joined(separator: "; ")
    }

    /// Fields in `sent` that `understood` (the same body decoded and encoded again) does not have: keys
    /// the receiver does not know, which would otherwise be dropped without a word. A `null` sent for an
    /// absent optional field is not counted.
    /// - Parameters:
    ///   - sent: The body as sent.
    ///   - understood: The decoded value, encoded again.
    ///   - path: The pointer of `sent` in the whole body.
    public static func unknownFields(sent: JSONValue, understood: JSONValue, path: String = "") -> [FieldError] {
        switch (sent, understood) {
        case (.object(let sent), .object(let understood)):
            var errors: [FieldError] = []
            for key in sent.keys.sorted() {
                let field = path + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
                guard let known = understood[key] else {
                    if sent[key] != .null {
                        errors.append(FieldError(
                            field: field, problem: "is not a field of this request",
                            allowed: understood.keys.sorted().joined(separator: ", ").nilIfEmpty))
                    }
                    continue
                }
                errors += unknownFields(sent: sent[key]!, understood: known, path: field)
            }
            return errors
        case (.array(let sent), .array(let understood)) where sent.count == understood.count:
            return zip(sent, understood).enumerated().flatMap { unknownFields(sent: $0.element.0, understood: $0.element.1, path: "\(path)/\($0.offset)") }
        default:
            return []
        }
    }

    static func pointer(_ path: [any CodingKey]) -> String {
        path.map { "/" + ($0.intValue.map(String.init) ?? $0.stringValue) }.joined()
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "a whole number"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension Request {
    /// The body as JSON of the given shape, contract dates included; anything else is a 400 that names the
    /// field and says what was wrong.
    /// - Parameters:
    ///   - type: The shape.
    ///   - limit: The largest body read.
    public func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int = 1 << 20) async throws -> T {
        let buffer = try await body.collect(upTo: limit)
        do {
            return try ContractCoding.decoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "the body does not match: \(RequestProblem.describe(error))")
        }
    }

    /// The body as JSON of the given shape, refusing fields the shape does not have (a misspelt key would
    /// otherwise be ignored and the request half done); anything else is a 400 that names the field.
    /// - Parameters:
    ///   - type: The shape; encoding it again must give back every field it read.
    ///   - limit: The largest body read.
    public func decodeJSON<T: Codable>(_ type: T.Type, limit: Int = 1 << 20) async throws -> T {
        let buffer = try await body.collect(upTo: limit)
        let bytes = Array(buffer.readableBytesView)
        let value: T
        do {
            value = try ContractCoding.decoder().decode(T.self, from: Data(bytes))
        } catch {
            throw HTTPError(.badRequest, message: "the body does not match: \(RequestProblem.describe(error))")
        }
        if let sent = try? JSONValue.parse(bytes), let understood = try? JSONValue.parse(Array(ContractCoding.encoder().encode(value))) {
            let unknown = RequestProblem.unknownFields(sent: sent, understood: understood)
            if !unknown.isEmpty {
                throw HTTPError(.badRequest, message: "the body does not match: \(unknown.map(\.description).joined(separator: "; "))")
            }
        }
        return value
    }
}
