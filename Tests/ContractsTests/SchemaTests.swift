import Contracts
import Foundation
import Testing

/// Every JSON Schema accepts what its Swift type encodes and rejects a broken sample.
@Suite("Contract schemas")
struct SchemaTests {
    static let schemaDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Shared/Contracts/Schemas")

    static func schema(_ type: EventType) throws -> JSONSchema {
        let url = schemaDirectory.appendingPathComponent("\(type.name).json")
        return try JSONSchema(Array(try Data(contentsOf: url)))
    }

    /// One valid sample per contract.
    static let samples: [(EventType, any EventPayload)] = ContractExamples.valid.map { (type(of: $0).eventType, $0) }

    static func encode(_ payload: any EventPayload) throws -> JSONValue {
        try JSONValue.parse(Array(try ContractCoding.encoder().encode(payload)))
    }

    @Test("there is a schema for every contract, and a contract for every schema")
    func schemaPerContract() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.schemaDirectory.path).filter { $0.hasSuffix(".json") }
        let names = Set(Contracts.allPayloads.map { $0.eventType.name + ".json" })
        #expect(Set(files) == names)
        #expect(Set(Self.samples.map(\.0.name)) == Set(Contracts.allPayloads.map { $0.eventType.name }))
    }

    @Test("each schema accepts what its Swift type encodes", arguments: samples.indices)
    func acceptsEncoded(index: Int) throws {
        let (type, payload) = Self.samples[index]
        let errors = try Self.schema(type).validate(try Self.encode(payload))
        #expect(errors.isEmpty, "\(type): \(errors)")
    }

    @Test("each schema documents every field its Swift type encodes, at every level", arguments: samples.indices)
    func documentsEveryField(index: Int) throws {
        let (type, payload) = Self.samples[index]
        let schema = try Self.schema(type)
        guard case .object(let root) = schema.root else {
            Issue.record("\(type): the schema is not an object")
            return
        }
        var undocumented: [String] = []
        Self.undocumented(try Self.encode(payload), against: .object(root), definitions: root["$defs"], at: "", into: &undocumented)
        #expect(undocumented.isEmpty, "\(type) encodes fields its schema does not name: \(undocumented)")
    }

    /// Fields of `value` that `schema` (resolving `#/$defs/…`) does not name under `properties`.
    static func undocumented(_ value: JSONValue, against schema: JSONValue, definitions: JSONValue?, at path: String, into result: inout [String]) {
        var node = schema
        if case .object(let object) = node, case .string(let ref)? = object["$ref"], ref.hasPrefix("#/$defs/"),
           case .object(let defs)? = definitions, let target = defs[String(ref.dropFirst("#/$defs/".count))] {
            node = target
        }
        guard case .object(let object) = node else { return }
        switch value {
        case .object(let fields):
            guard case .object(let properties)? = object["properties"] else { return }
            for (key, inner) in fields {
                guard let property = properties[key] else { result.append("\(path)/\(key)"); continue }
                undocumented(inner, against: property, definitions: definitions, at: "\(path)/\(key)", into: &result)
            }
        case .array(let items):
            guard let itemSchema = object["items"] else { return }
            for (index, item) in items.enumerated() {
                undocumented(item, against: itemSchema, definitions: definitions, at: "\(path)/\(index)", into: &result)
            }
        default: return
        }
    }

    @Test("each schema rejects a sample missing a required field and one with a wrong type", arguments: samples.indices)
    func rejectsBroken(index: Int) throws {
        let (type, payload) = Self.samples[index]
        let schema = try Self.schema(type)
        guard case .object(var object) = try Self.encode(payload),
              case .object(let root) = schema.root, case .array(let required)? = root["required"],
              case .string(let firstRequired)? = required.first
        else {
            Issue.record("\(type): sample is not an object or the schema requires nothing")
            return
        }
        var missing = object
        missing.removeValue(forKey: firstRequired)
        let missingErrors = schema.validate(.object(missing))
        #expect(missingErrors.contains { $0.field == "/\(firstRequired)" && $0.problem == "is required" })

        object[firstRequired] = .array([.number(1)])
        #expect(!schema.validate(.object(object)).isEmpty)
    }

    @Test("every example decodes back to the value it was encoded from")
    func roundTrip() throws {
        func check<P: EventPayload>(_ payload: P) throws {
            let data = try ContractCoding.encoder().encode(payload)
            let decoded = try ContractCoding.decoder().decode(P.self, from: data)
            #expect(try ContractCoding.encoder().encode(decoded) == data, "\(P.eventType)")
        }
        for payload in ContractExamples.valid { try check(payload) }
    }

    static func decode<P: EventPayload>(_ type: P.Type, _ data: Data) throws {
        _ = try ContractCoding.decoder().decode(P.self, from: data)
    }

    @Test("the examples/ folder holds an accepted and a rejected example per agency event, up to date")
    func examplesFolder() throws {
        let folder = Self.schemaDirectory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples")
        let expected = try ContractExamples.files(schemas: Self.schema)
        #expect(expected.count == Contracts.agencyPayloads.count * 3)
        for (path, content) in expected {
            let onDisk = try? String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8)
            #expect(onDisk == content, "examples/\(path) is missing or stale: run huhang-admin examples --out examples")
        }
        for payload in Contracts.agencyPayloads {
            let name = payload.eventType.name
            let schema = try Self.schema(payload.eventType)
            let accepted = try Data(contentsOf: folder.appendingPathComponent("\(name)/accepted.json"))
            #expect(schema.validate(try JSONValue.parse(Array(accepted))).isEmpty)
            try Self.decode(payload, accepted)
            let rejected = try Data(contentsOf: folder.appendingPathComponent("\(name)/rejected.json"))
            #expect(!schema.validate(try JSONValue.parse(Array(rejected))).isEmpty)
        }
    }

    @Test("the incident schema explains each problem with its field and what is allowed")
    func fieldLevelErrors() throws {
        let schema = try Self.schema(IncidentReportV1.eventType)
        let document = try JSONValue.parse(Array(#"""
            {"externalId": "", "category": "fighting", "immediateDanger": "yes", "occurredAt": "yesterday",
             "people": [{"role": "victim", "idNumber": "123"}], "futureField": 1}
            """#.utf8))
        let errors = schema.validate(document)
        let byField = Dictionary(grouping: errors, by: \.field)
        #expect(byField["/externalId"] != nil)
        #expect(byField["/category"]?.first?.allowed?.contains("bullying") == true)
        #expect(byField["/immediateDanger"]?.first?.problem == "expected boolean, found string")
        #expect(byField["/occurredAt"] != nil)
        #expect(byField["/people/0/idNumber"] != nil)
        // Unknown fields are not errors: contracts grow additively within a major version.
        #expect(byField["/futureField"] == nil)
    }

    @Test("a v1 reader decodes a v1 body with fields it does not know")
    func additiveEvolution() throws {
        let body = #"""
            {"subjectId":"s-1","tier":"high","score":60,"reasons":[],"modelVersion":"m","provisional":true,
             "urgent":false,"assessedAt":"2026-11-23T08:30:00.123Z","addedLater":{"x":[1,2]}}
            """#
        let decoded = try ContractCoding.decoder().decode(RiskAssessedV1.self, from: Data(body.utf8))
        #expect(decoded.tier == .high)
        #expect(decoded.previousTier == nil)
    }

    @Test("a schema with a keyword the validator does not implement is refused")
    func unsupportedKeyword() {
        #expect(throws: FieldError.self) {
            try JSONSchema(Array(#"{"type":"object","oneOf":[]}"#.utf8))
        }
    }

    @Test("the AsyncAPI document names every contract and both exchanges")
    func asyncAPIDocument() throws {
        let url = Self.schemaDirectory.deletingLastPathComponent().appendingPathComponent("asyncapi.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.hasPrefix("asyncapi: 3.0.0"))
        for payload in Contracts.allPayloads {
            // Receipts are addressed by agency, not by type.
            // An assessment's key carries its tier.
            if payload == RiskAssessedV1.self {
                #expect(text.contains("address: '\(payload.eventType.routingKey).{tier}'"))
            } else if payload != IntakeReceiptV1.self {
                #expect(text.contains("address: '\(payload.eventType.routingKey)'"))
            }
            #expect(text.contains("name: \(payload.eventType.name)"))
            #expect(text.contains("./Schemas/\(payload.eventType.name).json"))
        }
        #expect(text.contains("name: huhang.replies"))
        #expect(text.contains("name: huhang.intake"))
        #expect(text.contains("name: huhang.events"))
    }
}

@Suite("Envelope")
struct EnvelopeTests {
    @Test("an event caused by another keeps its correlation id and trace, and names its cause")
    func causation() {
        let trace = TraceContext.random()
        let original = EventEnvelope(type: "report.incident.v1", source: "agency", traceparent: trace.traceparent)
        #expect(original.correlationID == original.id)
        let next = original.caused(type: ReportAcceptedV1.eventType, source: "intake")
        #expect(next.correlationID == original.id)
        #expect(next.causationID == original.id)
        #expect(next.id != original.id)
        let nextTrace = TraceContext(traceparent: next.traceparent!)
        #expect(nextTrace?.traceID == trace.traceID)
        #expect(nextTrace?.spanID != trace.spanID)
        #expect(next.dataschema == "urn:huhang:schema:report.accepted.v1")
    }

    @Test("malformed traceparents are refused", arguments: [
        "", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011",
        "00-0af7651916cd43dd8448eb211c8031é-b7ad6b7169203331-01",
    ])
    func badTraceparent(text: String) {
        #expect(TraceContext(traceparent: text) == nil)
    }

    @Test("a traceparent is read as its parts, lowercased, sampled from the flags' low bit")
    func goodTraceparent() {
        let upper = TraceContext(traceparent: "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01")
        #expect(upper == TraceContext(traceID: "0af7651916cd43dd8448eb211c80319c", spanID: "b7ad6b7169203331", sampled: true))
        #expect(TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")?.sampled == false)
        #expect(TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03")?.sampled == true)
        let random = TraceContext.random()
        #expect(TraceContext(traceparent: random.traceparent) == random)
    }

    @Test("event type names parse into family and major version")
    func eventTypes() {
        #expect(EventType(name: "report.incident.v1") == EventType("report.incident", major: 1))
        #expect(EventType(name: "report.incident.v12")?.major == 12)
        #expect(EventType(name: "report.incident") == nil)
        #expect(EventType(name: "report.incident.v0") == nil)
    }

    @Test("times are written RFC 3339 with milliseconds and read with or without them")
    func times() {
        let date = Date(timeIntervalSince1970: 1_795_000_000.25)
        let text = ContractCoding.formatTime(date)
        #expect(text == "2026-11-18T11:06:40.250Z")
        #expect(ContractCoding.parseTime(text) == date)
        #expect(ContractCoding.parseTime("2026-11-18T11:06:40Z") == Date(timeIntervalSince1970: 1_795_000_000))
        #expect(ContractCoding.parseTime("2026-11-18T19:06:40+08:00") == Date(timeIntervalSince1970: 1_795_000_000))
        #expect(ContractCoding.parseTime("18/11/2026") == nil)
    }
}
