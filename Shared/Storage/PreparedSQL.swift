import Logging
import PostgresNIO

/// A statement for ``PostgresNIO/PostgresConnection/query(prepared:logger:file:line:)``, written as a
/// `PostgresQuery` is (`"… WHERE id = \(id)"`, `\(unescaped: schema)`), which also keeps the PostgreSQL type of
/// each value it binds, so that the statement can be prepared with the types an unnamed one is sent with.
public struct PreparedSQL: Sendable, ExpressibleByStringInterpolation {
    /// The text and the bindings.
    public let query: PostgresQuery
    /// The type of each binding, in order; `null` (left to the server) where the value is nil.
    public let types: [PostgresDataType]

    public init(stringLiteral value: String) {
        self.query = PostgresQuery(stringLiteral: value)
        self.types = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.query = PostgresQuery(stringInterpolation: stringInterpolation.base)
        self.types = stringInterpolation.types
    }

    /// Appends as `PostgresQuery.StringInterpolation` does, noting each value's type.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        public typealias StringLiteralType = String
        var base: PostgresQuery.StringInterpolation
        var types: [PostgresDataType] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            self.base = .init(literalCapacity: literalCapacity, interpolationCount: interpolationCount)
            self.types.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            base.appendLiteral(literal)
        }

        public mutating func appendInterpolation<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value) throws {
            try base.appendInterpolation(value)
            types.append(value.psqlType)
        }

        public mutating func appendInterpolation<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value?) throws {
            try base.appendInterpolation(value)
            types.append(value?.psqlType ?? .null)
        }

        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable>(_ value: Value) {
            base.appendInterpolation(value)
            types.append(value.psqlType)
        }

        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable>(_ value: Value?) {
            base.appendInterpolation(value)
            types.append(value?.psqlType ?? .null)
        }

        /// Text put into the statement as it is: only names the code chose (a schema), never a value.
        public mutating func appendInterpolation(unescaped text: String) {
            base.appendInterpolation(unescaped: text)
        }
    }

    /// The name the statement is prepared under on a connection: one per text and types in this process
    /// (a statement sent once with a value and once with a null where the value was is prepared twice).
    var name: String {
        var hasher = Hasher()
        hasher.combine(query.sql)
        for type in types { hasher.combine(type.rawValue) }
        return "huhang_\(UInt64(bitPattern: Int64(hasher.finalize())))"
    }
}

/// The rows of a prepared statement; decode them as those of any query (`rows.decode((String, Int).self)`).
public typealias PreparedRows = AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow>

/// How a statement run by ``PostgresNIO/PostgresConnection/query(prepared:planning:logger:file:line:)`` is planned.
public enum StatementPlanning: Sendable {
    /// As PostgreSQL chooses for a prepared statement: the first executions are planned for their values, then a
    /// plan made for any values is kept when it is no dearer. For statements whose plan does not depend on how big
    /// their tables are (an insert, a lookup by key).
    case kept
    /// For each execution's values, the statement sent unnamed (parsed again each time): for a statement whose
    /// best plan depends on how big its tables have grown — a growing table joined with a list of keys — where a
    /// plan made while the table was nearly empty would stay slow long after it has grown.
    case eachTime
}

extension PostgresConnection {
    /// Runs a statement prepared once on this connection: the first time, PostgreSQL parses it and keeps it
    /// under a name; every later time only the values are sent, and the server skips parsing and analysis
    /// (and, once it keeps a plan, planning).
    ///
    /// For the statements of the event path, which run hundreds of times a second with other values. Not for
    /// SQL assembled from varying parts: each variant would be kept by every connection until it closes.
    ///
    /// - Parameters:
    ///   - statement: The statement, with its bindings.
    ///   - planning: Whether a plan may be kept (``StatementPlanning/kept``) or each execution is planned for its values.
    ///   - logger: Where PostgresNIO logs.
    /// - Returns: Its rows; a statement that returns none may be left unread.
    @discardableResult
    public func query(
        prepared statement: PreparedSQL, planning: StatementPlanning = .kept, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> PreparedRows {
        switch planning {
        case .kept:
            return try await PreparedText.$current.withValue(PreparedText(statement)) {
                try await self.execute(PreparedText.Statement(bindings: statement.query.binds), logger: logger, file: file, line: line)
            }
        case .eachTime:
            return try await self.query(statement.query, logger: logger, file: file, line: line).map { @Sendable row throws in row }
        }
    }
}

/// What PostgresNIO prepares a statement from: its name, text and parameter types.
///
/// PostgresNIO reads them from a `PostgresPreparedStatement` type's static `name`, `sql` and
/// `bindingDataTypes` while `execute` is called; ``Statement`` answers them from the task-local ``current``,
/// set around that call, so that any ``PreparedSQL`` can be prepared without a type of its own.
struct PreparedText: Sendable {
    let name: String
    let sql: String
    let types: [PostgresDataType]

    init(_ statement: PreparedSQL) {
        self.name = statement.name
        self.sql = statement.query.sql
        self.types = statement.types
    }

    private init() {
        (name, sql, types) = ("", "", [])
    }

    @TaskLocal static var current = PreparedText()

    struct Statement: PostgresPreparedStatement {
        typealias Row = PostgresRow
        static var name: String { PreparedText.current.name }
        static var sql: String { PreparedText.current.sql }
        static var bindingDataTypes: [PostgresDataType] { PreparedText.current.types }
        let bindings: PostgresBindings
        func makeBindings() throws -> PostgresBindings { bindings }
        func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
    }
}
