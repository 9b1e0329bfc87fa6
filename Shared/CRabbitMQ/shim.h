// The small C layer between Huhang's Messaging module and rabbitmq-c 0.11.
// Swift cannot call variadic functions (amqp_login) and does not import the
// method-id and property-flag macros, so they are wrapped here. Nothing else
// belongs in this file.
#ifndef HUHANG_CRABBITMQ_SHIM_H
#define HUHANG_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

/// Logs in with SASL PLAIN, announcing the connection name and that this
/// client understands connection.blocked / connection.unblocked.
static inline amqp_rpc_reply_t huhang_amqp_login(amqp_connection_state_t state,
                                                 const char *vhost,
                                                 int channel_max,
                                                 int frame_max,
                                                 int heartbeat,
                                                 const char *user,
                                                 const char *password,
                                                 const char *connection_name) {
    amqp_table_entry_t capabilities[1];
    capabilities[0].key = amqp_cstring_bytes("connection.blocked");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;

    amqp_table_entry_t properties[2];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 1;
    properties[0].value.value.table.entries = capabilities;
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);

    amqp_table_t table;
    table.num_entries = 2;
    table.entries = properties;
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat,
                                      &table, AMQP_SASL_METHOD_PLAIN, user, password);
}

// Method ids, as functions: the macros carry casts Swift does not import.
static inline amqp_method_number_t huhang_method_basic_deliver(void) { return AMQP_BASIC_DELIVER_METHOD; }
static inline amqp_method_number_t huhang_method_basic_ack(void) { return AMQP_BASIC_ACK_METHOD; }
static inline amqp_method_number_t huhang_method_basic_nack(void) { return AMQP_BASIC_NACK_METHOD; }
static inline amqp_method_number_t huhang_method_basic_return(void) { return AMQP_BASIC_RETURN_METHOD; }
static inline amqp_method_number_t huhang_method_basic_cancel(void) { return AMQP_BASIC_CANCEL_METHOD; }
static inline amqp_method_number_t huhang_method_basic_cancel_ok(void) { return AMQP_BASIC_CANCEL_OK_METHOD; }
static inline amqp_method_number_t huhang_method_channel_close(void) { return AMQP_CHANNEL_CLOSE_METHOD; }
static inline amqp_method_number_t huhang_method_channel_close_ok(void) { return AMQP_CHANNEL_CLOSE_OK_METHOD; }
static inline amqp_method_number_t huhang_method_connection_close(void) { return AMQP_CONNECTION_CLOSE_METHOD; }
static inline amqp_method_number_t huhang_method_connection_close_ok(void) { return AMQP_CONNECTION_CLOSE_OK_METHOD; }
static inline amqp_method_number_t huhang_method_connection_blocked(void) { return AMQP_CONNECTION_BLOCKED_METHOD; }
static inline amqp_method_number_t huhang_method_connection_unblocked(void) { return AMQP_CONNECTION_UNBLOCKED_METHOD; }

// basic.properties flags.
static inline amqp_flags_t huhang_flag_content_type(void) { return AMQP_BASIC_CONTENT_TYPE_FLAG; }
static inline amqp_flags_t huhang_flag_headers(void) { return AMQP_BASIC_HEADERS_FLAG; }
static inline amqp_flags_t huhang_flag_delivery_mode(void) { return AMQP_BASIC_DELIVERY_MODE_FLAG; }
static inline amqp_flags_t huhang_flag_correlation_id(void) { return AMQP_BASIC_CORRELATION_ID_FLAG; }
static inline amqp_flags_t huhang_flag_reply_to(void) { return AMQP_BASIC_REPLY_TO_FLAG; }
static inline amqp_flags_t huhang_flag_expiration(void) { return AMQP_BASIC_EXPIRATION_FLAG; }
static inline amqp_flags_t huhang_flag_message_id(void) { return AMQP_BASIC_MESSAGE_ID_FLAG; }
static inline amqp_flags_t huhang_flag_timestamp(void) { return AMQP_BASIC_TIMESTAMP_FLAG; }
static inline amqp_flags_t huhang_flag_type(void) { return AMQP_BASIC_TYPE_FLAG; }
static inline amqp_flags_t huhang_flag_user_id(void) { return AMQP_BASIC_USER_ID_FLAG; }
static inline amqp_flags_t huhang_flag_app_id(void) { return AMQP_BASIC_APP_ID_FLAG; }

/// The decoded method of a method frame (a union member Swift reaches awkwardly).
static inline amqp_method_t huhang_frame_method(const amqp_frame_t *frame) { return frame->payload.method; }

#endif
