import Contracts
import Foundation
import ServiceKit

/// Reads an agency's event body: JSON, then its published schema (field-level
/// reasons: which field, what was wrong, what is allowed), then the contract
/// type and its ``IntakeRules``. For a batch accepted in part, invalid rows are
/// left out and listed instead of failing the whole.
enum AgencyEventReader {
    /// The largest body intake reads (a screening batch of 10,000 results fits).
    static let maximumBodySize = 4 * 1024 * 1024

    struct Problems: Error { var errors: [FieldError] }

    struct Read<E> {
        var value: E
        /// Why rows were left out, by their index in what the agency sent.
        var rowProblems: [FieldError]
        var rejectedRows: Int
    }

    /// The `externalId` of a body that may be broken, to echo in the receipt.
    static func externalID(in body: [UInt8]) -> String? {
        guard body.count <= maximumBodySize, case .object(let object)? = try? JSONValue.parse(body),
              case .string(let id)? = object["externalId"] else { return nil }
        return String(id.prefix(128))
    }

    static func read<E: IntakeRules>(_ type: E.Type, from body: [UInt8], now: Date, _ context: HandlerContext) -> Result<Read<E>, Problems> {
        guard body.count <= maximumBodySize else {
            return .failure(Problems(errors: [FieldError(field: "", problem: "body is \(body.count) bytes; the limit is \(maximumBodySize)")]))
        }
        var document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            return .failure(Problems(errors: [FieldError(field: "", problem: "body is not valid JSON")]))
        }
        do {
            var bytes = body
            var rowProblems: [(row: Int, error: FieldError)] = []
            var kept: [Int] = []
            if let schema = try ContractSchemas.schema(for: E.eventType) {
                let (rows, whole) = partition(schema.validate(document), rows: E.rows)
                if !whole.isEmpty { return .failure(Problems(errors: whole + rows.map(\.error))) }
                rowProblems = rows
                if let pointer = E.rows, case .object(var object) = document, case .array(let items)? = object[String(pointer.dropFirst())] {
                    let bad = Set(rows.map(\.row))
                    kept = items.indices.filter { !bad.contains($0) }
                    if !bad.isEmpty {
                        object[String(pointer.dropFirst())] = .array(kept.map { items[$0] })
                        document = .object(object)
                        bytes = Array(try JSONEncoder().encode(document))
                    }
                }
            }
            var value = try context.decode(E.self, from: bytes)
            let (rows, whole) = partition(value.problems(now: now), rows: E.rows)
            if !whole.isEmpty { return .failure(Problems(errors: whole + rowProblems.map(\.error) + rows.map(\.error))) }
            if !rows.isEmpty, let pointer = E.rows {
                value = value.dropping(rows: Set(rows.map(\.row)))
                // Report each row by its index in what the agency sent.
                for (row, error) in rows {
                    let original = kept.indices.contains(row) ? kept[row] : row
                    let rest = error.field.dropFirst(pointer.count + 1).drop { $0 != "/" }
                    rowProblems.append((original, FieldError(field: "\(pointer)/\(original)\(rest)", problem: error.problem, allowed: error.allowed)))
                }
            }
            rowProblems.sort { $0.row < $1.row }
            let rejected = Set(rowProblems.map(\.row)).count
            if let pointer = E.rows, rejected > 0, value.rowCount == 0 {
                return .failure(Problems(errors: rowProblems.map(\.error) + [FieldError(field: pointer, problem: "has no valid row")]))
            }
            return .success(Read(value: value, rowProblems: rowProblems.map(\.error), rejectedRows: rejected))
        } catch let rejection as MessageRejection {
            return .failure(Problems(errors: [FieldError(field: "", problem: rejection.reason)]))
        } catch {
            return .failure(Problems(errors: [FieldError(field: "", problem: "\(error)")]))
        }
    }

    /// Splits errors into those inside a row of `rows` (with the row's index) and the rest.
    static func partition(_ errors: [FieldError], rows: String?) -> (rows: [(row: Int, error: FieldError)], whole: [FieldError]) {
        guard let rows else { return ([], errors) }
        var inRows: [(row: Int, error: FieldError)] = []
        var whole: [FieldError] = []
        for error in errors {
            if error.field.hasPrefix(rows + "/"),
               let index = Int(error.field.dropFirst(rows.count + 1).prefix { $0 != "/" }) {
                inRows.append((index, error))
            } else {
                whole.append(error)
            }
        }
        return (inRows, whole)
    }
}
