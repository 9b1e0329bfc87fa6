import CRabbitMQ
import Foundation

/// Memory for one C call: every string, table and property block handed to
/// rabbitmq-c is copied here and freed together once the call returns.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    func bytes(_ value: [UInt8]) -> amqp_bytes_t {
        if value.isEmpty { return amqp_bytes_t(len: 0, bytes: nil) }
        let pointer = malloc(value.count)!
        allocations.append(pointer)
        value.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: value.count) }
        return amqp_bytes_t(len: value.count, bytes: pointer)
    }

    func bytes(_ value: String) -> amqp_bytes_t { bytes(Array(value.utf8)) }

    func cString(_ value: String) -> UnsafePointer<CChar> {
        let pointer = strdup(value)!
        allocations.append(UnsafeMutableRawPointer(pointer))
        return UnsafePointer(pointer)
    }

    func table(_ table: AMQPTable) -> amqp_table_t {
        if table.isEmpty { return amqp_table_t(num_entries: 0, entries: nil) }
        let raw = malloc(MemoryLayout<amqp_table_entry_t>.stride * table.count)!
        allocations.append(raw)
        let entries = raw.bindMemory(to: amqp_table_entry_t.self, capacity: table.count)
        // Sorted keys: the same table always encodes to the same bytes.
        for (index, key) in table.keys.sorted().enumerated() {
            var entry = amqp_table_entry_t()
            entry.key = bytes(key)
            entry.value = field(table[key]!)
            entries[index] = entry
        }
        return amqp_table_t(num_entries: Int32(table.count), entries: entries)
    }

    func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let s):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(s)
        case .bytes(let b):
            field.kind = UInt8(AMQP_FIELD_KIND_BYTES.rawValue)
            field.value.bytes = bytes(b)
        case .int(let i):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = i
        case .bool(let b):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = b ? 1 : 0
        case .double(let d):
            field.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            field.value.f64 = d
        case .timestamp(let t):
            field.kind = UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue)
            field.value.u64 = t
        case .table(let t):
            field.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            field.value.table = table(t)
        case .array(let values):
            field.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
            if values.isEmpty {
                field.value.array = amqp_array_t(num_entries: 0, entries: nil)
            } else {
                let raw = malloc(MemoryLayout<amqp_field_value_t>.stride * values.count)!
                allocations.append(raw)
                let entries = raw.bindMemory(to: amqp_field_value_t.self, capacity: values.count)
                for (index, element) in values.enumerated() { entries[index] = self.field(element) }
                field.value.array = amqp_array_t(num_entries: Int32(values.count), entries: entries)
            }
        case .void:
            field.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return field
    }

    func properties(_ p: AMQPProperties) -> amqp_basic_properties_t {
        var props = amqp_basic_properties_t()
        var flags: amqp_flags_t = huhang_flag_delivery_mode()
        props.delivery_mode = p.persistent ? 2 : 1
        if let v = p.contentType { flags |= huhang_flag_content_type(); props.content_type = bytes(v) }
        if let v = p.messageID { flags |= huhang_flag_message_id(); props.message_id = bytes(v) }
        if let v = p.correlationID { flags |= huhang_flag_correlation_id(); props.correlation_id = bytes(v) }
        if let v = p.type { flags |= huhang_flag_type(); props.type = bytes(v) }
        if let v = p.appID { flags |= huhang_flag_app_id(); props.app_id = bytes(v) }
        if let v = p.userID { flags |= huhang_flag_user_id(); props.user_id = bytes(v) }
        if let v = p.replyTo { flags |= huhang_flag_reply_to(); props.reply_to = bytes(v) }
        if let v = p.expiration { flags |= huhang_flag_expiration(); props.expiration = bytes(v) }
        if let v = p.timestamp { flags |= huhang_flag_timestamp(); props.timestamp = v }
        if !p.headers.isEmpty { flags |= huhang_flag_headers(); props.headers = table(p.headers) }
        props._flags = flags
        return props
    }
}

// MARK: - From C

extension amqp_bytes_t {
    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    var string: String { String(decoding: array, as: UTF8.self) }
}

enum CDecode {
    static func table(_ table: amqp_table_t) -> AMQPTable {
        var result: AMQPTable = [:]
        guard table.num_entries > 0, let entries = table.entries else { return result }
        for index in 0..<Int(table.num_entries) {
            let entry = entries[index]
            result[entry.key.string] = field(entry.value)
        }
        return result
    }

    static func field(_ field: amqp_field_value_t) -> AMQPFieldValue {
        switch UInt32(field.kind) {
        case AMQP_FIELD_KIND_UTF8.rawValue: return .string(field.value.bytes.string)
        case AMQP_FIELD_KIND_BYTES.rawValue: return .bytes(field.value.bytes.array)
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: return .bool(field.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: return .int(Int64(field.value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: return .int(Int64(field.value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: return .int(Int64(field.value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: return .int(Int64(field.value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: return .int(Int64(field.value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: return .int(Int64(field.value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: return .int(field.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: return .int(Int64(bitPattern: field.value.u64))
        case AMQP_FIELD_KIND_F32.rawValue: return .double(Double(field.value.f32))
        case AMQP_FIELD_KIND_F64.rawValue: return .double(field.value.f64)
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: return .timestamp(field.value.u64)
        case AMQP_FIELD_KIND_TABLE.rawValue: return .table(table(field.value.table))
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            let array = field.value.array
            guard array.num_entries > 0, let entries = array.entries else { return .array([]) }
            return .array((0..<Int(array.num_entries)).map { self.field(entries[$0]) })
        default: return .void
        }
    }

    static func properties(_ p: amqp_basic_properties_t) -> AMQPProperties {
        let flags = p._flags
        func has(_ flag: amqp_flags_t) -> Bool { flags & flag != 0 }
        return AMQPProperties(
            contentType: has(huhang_flag_content_type()) ? p.content_type.string : nil,
            messageID: has(huhang_flag_message_id()) ? p.message_id.string : nil,
            correlationID: has(huhang_flag_correlation_id()) ? p.correlation_id.string : nil,
            type: has(huhang_flag_type()) ? p.type.string : nil,
            appID: has(huhang_flag_app_id()) ? p.app_id.string : nil,
            userID: has(huhang_flag_user_id()) ? p.user_id.string : nil,
            replyTo: has(huhang_flag_reply_to()) ? p.reply_to.string : nil,
            expiration: has(huhang_flag_expiration()) ? p.expiration.string : nil,
            timestamp: has(huhang_flag_timestamp()) ? p.timestamp : nil,
            persistent: has(huhang_flag_delivery_mode()) ? p.delivery_mode == 2 : false,
            headers: has(huhang_flag_headers()) ? table(p.headers) : [:]
        )
    }
}
