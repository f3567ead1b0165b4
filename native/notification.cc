#include "notification.h"

#include <cstring>

#include "linux_sctp.h"

namespace ksctp {

#define F KSCTP_FIELD

static const Field kAssocChange[] = {
    F(sctp_assoc_change, sac_state, "state", kU16),
    F(sctp_assoc_change, sac_error, "error", kU16),
    F(sctp_assoc_change, sac_outbound_streams, "outboundStreams", kU16),
    F(sctp_assoc_change, sac_inbound_streams, "inboundStreams", kU16),
    F(sctp_assoc_change, sac_assoc_id, "assocId", kI32),
};
static const Field kPaddrChange[] = {
    F(sctp_paddr_change, spc_aaddr, "address", kAddress),
    F(sctp_paddr_change, spc_state, "state", kI32),
    F(sctp_paddr_change, spc_error, "error", kI32),
    F(sctp_paddr_change, spc_assoc_id, "assocId", kI32),
};
static const Field kRemoteError[] = {
    F(sctp_remote_error, sre_error, "error", kBe16),
    F(sctp_remote_error, sre_assoc_id, "assocId", kI32),
};
static const Field kSendFailed[] = {
    F(sctp_send_failed, ssf_error, "error", kU32),
    F(sctp_send_failed, ssf_info.sinfo_stream, "stream", kU16),
    F(sctp_send_failed, ssf_info.sinfo_flags, "sendFlags", kU16),
    F(sctp_send_failed, ssf_info.sinfo_ppid, "ppid", kBe32),
    F(sctp_send_failed, ssf_info.sinfo_context, "context", kU32),
    F(sctp_send_failed, ssf_assoc_id, "assocId", kI32),
};
static const Field kSendFailedEvent[] = {
    F(sctp_send_failed_event, ssf_error, "error", kU32),
    F(sctp_send_failed_event, ssfe_info.snd_sid, "stream", kU16),
    F(sctp_send_failed_event, ssfe_info.snd_flags, "sendFlags", kU16),
    F(sctp_send_failed_event, ssfe_info.snd_ppid, "ppid", kBe32),
    F(sctp_send_failed_event, ssfe_info.snd_context, "context", kU32),
    F(sctp_send_failed_event, ssf_assoc_id, "assocId", kI32),
};
static const Field kShutdown[] = {
    F(sctp_shutdown_event, sse_assoc_id, "assocId", kI32),
};
static const Field kAdaptation[] = {
    F(sctp_adaptation_event, sai_adaptation_ind, "adaptationIndication", kU32),
    F(sctp_adaptation_event, sai_assoc_id, "assocId", kI32),
};
static const Field kPartialDelivery[] = {
    F(sctp_pdapi_event, pdapi_indication, "indication", kU32),
    F(sctp_pdapi_event, pdapi_assoc_id, "assocId", kI32),
    F(sctp_pdapi_event, pdapi_stream, "stream", kU32),
    F(sctp_pdapi_event, pdapi_seq, "sequence", kU32),
};
static const Field kAuthentication[] = {
    F(sctp_authkey_event, auth_keynumber, "keyNumber", kU16),
    F(sctp_authkey_event, auth_altkeynumber, "altKeyNumber", kU16),
    F(sctp_authkey_event, auth_indication, "indication", kU32),
    F(sctp_authkey_event, auth_assoc_id, "assocId", kI32),
};
static const Field kSenderDry[] = {
    F(sctp_sender_dry_event, sender_dry_assoc_id, "assocId", kI32),
};
static const Field kStreamReset[] = {
    F(sctp_stream_reset_event, strreset_assoc_id, "assocId", kI32),
};
static const Field kAssocReset[] = {
    F(sctp_assoc_reset_event, assocreset_assoc_id, "assocId", kI32),
    F(sctp_assoc_reset_event, assocreset_local_tsn, "localTsn", kU32),
    F(sctp_assoc_reset_event, assocreset_remote_tsn, "remoteTsn", kU32),
};
static const Field kStreamChange[] = {
    F(sctp_stream_change_event, strchange_assoc_id, "assocId", kI32),
    F(sctp_stream_change_event, strchange_instrms, "inboundStreams", kU16),
    F(sctp_stream_change_event, strchange_outstrms, "outboundStreams", kU16),
};

#undef F

struct NotificationType {
  uint16_t type;
  Layout layout;
};

static const NotificationType kTypes[] = {
    {SCTP_ASSOC_CHANGE, {"assoc_change", sizeof(sctp_assoc_change), KSCTP_FIELDS(kAssocChange)}},
    {SCTP_PEER_ADDR_CHANGE,
     {"peer_addr_change", sizeof(sctp_paddr_change), KSCTP_FIELDS(kPaddrChange)}},
    {SCTP_SEND_FAILED, {"send_failed", sizeof(sctp_send_failed), KSCTP_FIELDS(kSendFailed)}},
    {SCTP_REMOTE_ERROR, {"remote_error", sizeof(sctp_remote_error), KSCTP_FIELDS(kRemoteError)}},
    {SCTP_SHUTDOWN_EVENT, {"shutdown", sizeof(sctp_shutdown_event), KSCTP_FIELDS(kShutdown)}},
    {SCTP_PARTIAL_DELIVERY_EVENT,
     {"partial_delivery", sizeof(sctp_pdapi_event), KSCTP_FIELDS(kPartialDelivery)}},
    {SCTP_ADAPTATION_INDICATION,
     {"adaptation_indication", sizeof(sctp_adaptation_event), KSCTP_FIELDS(kAdaptation)}},
    {SCTP_AUTHENTICATION_EVENT,
     {"authentication", sizeof(sctp_authkey_event), KSCTP_FIELDS(kAuthentication)}},
    {SCTP_SENDER_DRY_EVENT,
     {"sender_dry", sizeof(sctp_sender_dry_event), KSCTP_FIELDS(kSenderDry)}},
    {SCTP_STREAM_RESET_EVENT,
     {"stream_reset", sizeof(sctp_stream_reset_event), KSCTP_FIELDS(kStreamReset)}},
    {SCTP_ASSOC_RESET_EVENT,
     {"assoc_reset", sizeof(sctp_assoc_reset_event), KSCTP_FIELDS(kAssocReset)}},
    {SCTP_STREAM_CHANGE_EVENT,
     {"stream_change", sizeof(sctp_stream_change_event), KSCTP_FIELDS(kStreamChange)}},
    {SCTP_SEND_FAILED_EVENT,
     {"send_failed_event", sizeof(sctp_send_failed_event), KSCTP_FIELDS(kSendFailedEvent)}},
};

// Every notification but SENDER_DRY, which comes each time the send queue empties (after
// nearly every SACK on a fast path): a sender busy writing would fill its own receive buffer
// with them, and the kernel then drops the incoming SACKs, stalling the association until
// the retransmission timer fires. It is opt-in (the senderDry option).
const uint16_t kSubscribedEvents[] = {
    SCTP_ASSOC_CHANGE,         SCTP_PEER_ADDR_CHANGE,       SCTP_REMOTE_ERROR,
    SCTP_SHUTDOWN_EVENT,       SCTP_PARTIAL_DELIVERY_EVENT, SCTP_ADAPTATION_INDICATION,
    SCTP_AUTHENTICATION_EVENT, SCTP_STREAM_RESET_EVENT,     SCTP_ASSOC_RESET_EVENT,
    SCTP_STREAM_CHANGE_EVENT,  SCTP_SEND_FAILED_EVENT,
};
const size_t kSubscribedEventCount = sizeof(kSubscribedEvents) / sizeof(kSubscribedEvents[0]);

bool ParseNotification(const uint8_t* data, size_t length, Notification* out) {
  *out = Notification{};
  if (length < sizeof(sctp_notification{}.sn_header)) return false;
  sctp_notification header;
  std::memcpy(&header.sn_header, data, sizeof(header.sn_header));
  out->type = header.sn_header.sn_type;
  out->flags = header.sn_header.sn_flags;
  size_t declared = header.sn_header.sn_length;
  size_t end = declared < length ? declared : length;

  for (const auto& t : kTypes) {
    if (t.type != out->type) continue;
    if (end < t.layout.size) return false;
    out->name = t.layout.name;
    out->fields = DecodeFields(t.layout, data);
    out->extra_offset = t.layout.size;
    out->extra_length = end - t.layout.size;
    if (out->type == SCTP_STREAM_RESET_EVENT) {
      const uint8_t* list = data + out->extra_offset;
      for (size_t i = 0; i + sizeof(uint16_t) <= out->extra_length; i += sizeof(uint16_t)) {
        uint16_t stream;
        std::memcpy(&stream, list + i, sizeof(stream));
        out->streams.push_back(stream);
      }
      out->extra_length = 0;
    }
    return true;
  }
  // Unknown type: passed through raw.
  out->extra_offset = 0;
  out->extra_length = end;
  return true;
}

}  // namespace ksctp
