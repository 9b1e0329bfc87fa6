import Foundation

/// A JSON value, for schema checks and free-form documents.
public indirect enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let n = try? container.decode(Double.self) { self = .number(n) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n): try container.encode(n)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    /// Parses JSON bytes.
    public static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.rounded() == n ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// One thing wrong with a document: where, what, and what is allowed.
public struct FieldError: Sendable, Hashable, Codable, CustomStringConvertible {
    /// JSON Pointer to the field, e.g. `/people/0/role`; empty for the whole document.
    public var field: String
    /// What was wrong.
    public var problem: String
    /// What is allowed, when that can be said.
    public var allowed: String?

    public init(field: String, problem: String, allowed: String? = nil) {
        self.field = field
        self.problem = problem
        self.allowed = allowed
    }

    public var description: String {
        "\(field.isEmpty ? "/" : field): \(problem)" + (allowed.map { " (allowed: \($0))" } ?? "")
    }
}

/// A validator for the subset of JSON Schema (2020-12) the contract schemas use.
///
/// Supported keywords: `type`, `properties`, `required`, `additionalProperties`
/// (boolean), `enum`, `const`, `format` (`date-time`, `date`), `items`,
/// `minItems`, `maxItems`, `minLength`, `maxLength`, `pattern`, `minimum`,
/// `maximum`, `$ref` to `#/$defs/…`; annotations (`$schema`, `$id`, `title`,
/// `description`, `examples`, `$defs`) are accepted. A schema using any other
/// keyword is refused when it is loaded, so nothing is silently unchecked.
public struct JSONSchema: Sendable {
    public let root: JSONValue

    private static let annotations: Set<String> = ["$schema", "$id", "title", "description", "examples", "$defs", "$comment"]
    private static let assertions: Set<String> = [
        "type", "properties", "required", "additionalProperties", "enum", "const", "format", "items",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "$ref",
    ]

    /// Loads a schema, refusing keywords this validator does not implement.
    /// - Parameter bytes: The schema document.
    public init(_ bytes: some Collection<UInt8>) throws {
        root = try JSONValue.parse(bytes)
        try Self.checkKeywords(root, at: "#")
    }

    private static func checkKeywords(_ schema: JSONValue, at path: String) throws {
        guard case .object(let object) = schema else { return }
        for (key, value) in object {
            guard annotations.contains(key) || assertions.contains(key) else {
                throw FieldError(field: path, problem: "unsupported schema keyword \(key)")
            }
            switch key {
            case "properties", "$defs":
                if case .object(let children) = value {
                    for (name, child) in children { try checkKeywords(child, at: "\(path)/\(key)/\(name)") }
                }
            case "items":
                try checkKeywords(value, at: "\(path)/items")
            default: break
            }
        }
    }

    /// Checks a document.
    /// - Parameter document: The JSON document.
    /// - Returns: Every problem found; empty when the document is valid.
    public func validate(_ document: JSONValue) -> [FieldError] {
        var errors: [FieldError] = []
        check(document, against: root, at: "", into: &errors)
        return errors
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard case .object(let object) = schema, case .string(let ref)? = object["$ref"], ref.hasPrefix("#/$defs/"),
              case .object(let rootObject) = root, case .object(let defs)? = rootObject["$defs"],
              let target = defs[String(ref.dropFirst("#/$defs/".count))]
        else { return schema }
        return resolve(target)
    }

    private func check(_ value: JSONValue, against schema: JSONValue, at path: String, into errors: inout [FieldError]) {
        guard case .object(let s) = resolve(schema) else { return }

        if let type = s["type"] {
            let allowed: [String]
            switch type {
            case .string(let t): allowed = [t]
            case .array(let ts): allowed = ts.compactMap { if case .string(let t) = $0 { t } else { nil } }
            default: allowed = []
            }
            let actual = value.typeName
            let matches = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !matches {
                errors.append(FieldError(field: path, problem: "expected \(allowed.joined(separator: " or ")), found \(actual)"))
                return
            }
        }
        if case .array(let options)? = s["enum"], !options.contains(value) {
            let names = options.map { if case .string(let t) = $0 { t } else { "\($0)" } }
            errors.append(FieldError(field: path, problem: "not one of the allowed values", allowed: names.joined(separator: ", ")))
        }
        if let constant = s["const"], constant != value {
            errors.append(FieldError(field: path, problem: "must be \(constant)"))
        }

        switch value {
        case .string(let text):
            if case .number(let n)? = s["minLength"], text.count < Int(n) {
                errors.append(FieldError(field: path, problem: "shorter than \(Int(n)) characters"))
            }
            if case .number(let n)? = s["maxLength"], text.count > Int(n) {
                errors.append(FieldError(field: path, problem: "longer than \(Int(n)) characters"))
            }
            if case .string(let pattern)? = s["pattern"], text.range(of: pattern, options: .regularExpression) == nil {
                errors.append(FieldError(field: path, problem: "does not match the expected form", allowed: pattern))
            }
            if case .string(let format)? = s["format"] {
                switch format {
                case "date-time" where ContractCoding.parseTime(text) == nil:
                    errors.append(FieldError(field: path, problem: "not an RFC 3339 date-time", allowed: "e.g. 2026-11-23T08:30:00Z"))
                case "date" where text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil:
                    errors.append(FieldError(field: path, problem: "not a date", allowed: "YYYY-MM-DD"))
                default: break
                }
            }
        case .number(let number):
            if case .number(let n)? = s["minimum"], number < n {
                errors.append(FieldError(field: path, problem: "less than \(n)"))
            }
            if case .number(let n)? = s["maximum"], number > n {
                errors.append(FieldError(field: path, problem: "greater than \(n)"))
            }
        case .array(let elements):
            if case .number(let n)? = s["minItems"], elements.count < Int(n) {
                errors.append(FieldError(field: path, problem: "needs at least \(Int(n)) item(s)"))
            }
            if case .number(let n)? = s["maxItems"], elements.count > Int(n) {
                errors.append(FieldError(field: path, problem: "has more than \(Int(n)) items"))
            }
            if let items = s["items"] {
                for (index, element) in elements.enumerated() {
                    check(element, against: items, at: "\(path)/\(index)", into: &errors)
                }
            }
        case .object(let object):
            let properties: [String: JSONValue]
            if case .object(let p)? = s["properties"] { properties = p } else { properties = [:] }
            if case .array(let required)? = s["required"] {
                for case .string(let name) in required where object[name] == nil || object[name] == .null {
                    errors.append(FieldError(field: "\(path)/\(name)", problem: "is required"))
                }
            }
            for (name, child) in object.sorted(by: { $0.key < $1.key }) {
                if let childSchema = properties[name] {
                    if child == .null, case .object(let cs) = resolve(childSchema), cs["type"] != nil,
                       !(cs["type"].map { "\($0)".contains("null") } ?? false) {
                        // An absent optional field may be written as null.
                        continue
                    }
                    check(child, against: childSchema, at: "\(path)/\(name)", into: &errors)
                } else if case .bool(false)? = s["additionalProperties"] {
                    errors.append(FieldError(field: "\(path)/\(name)", problem: "is not a known field"))
                }
            }
        default: break
        }
    }
}

extension FieldError: Error {}
