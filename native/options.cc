#include "options.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "linux_sctp.h"

namespace ksctp {

#define F KSCTP_FIELD

static const Field kInt[] = {{"value", 0, FieldKind::kI32}};
static const Field kInitMsg[] = {
    F(sctp_initmsg, sinit_num_ostreams, "outStreams", kU16),
    F(sctp_initmsg, sinit_max_instreams, "maxInStreams", kU16),
    F(sctp_initmsg, sinit_max_attempts, "maxAttempts", kU16),
    F(sctp_initmsg, sinit_max_init_timeo, "maxInitTimeout", kU16),
};
static const Field kAssocValue[] = {
    F(sctp_assoc_value, assoc_id, "assocId", kI32),
    F(sctp_assoc_value, assoc_value, "value", kU32),
};
static const Field kSackInfo[] = {
    F(sctp_sack_info, sack_assoc_id, "assocId", kI32),
    F(sctp_sack_info, sack_delay, "delay", kU32),
    F(sctp_sack_info, sack_freq, "frequency", kU32),
};
static const Field kRtoInfo[] = {
    F(sctp_rtoinfo, srto_assoc_id, "assocId", kI32),
    F(sctp_rtoinfo, srto_initial, "initial", kU32),
    F(sctp_rtoinfo, srto_max, "max", kU32),
    F(sctp_rtoinfo, srto_min, "min", kU32),
};
static const Field kAssocParams[] = {
    F(sctp_assocparams, sasoc_assoc_id, "assocId", kI32),
    F(sctp_assocparams, sasoc_asocmaxrxt, "maxRetransmissions", kU16),
    F(sctp_assocparams, sasoc_number_peer_destinations, "peerDestinations", kU16),
    F(sctp_assocparams, sasoc_peer_rwnd, "peerRwnd", kU32),
    F(sctp_assocparams, sasoc_local_rwnd, "localRwnd", kU32),
    F(sctp_assocparams, sasoc_cookie_life, "cookieLife", kU32),
};
static const Field kPaddrParams[] = {
    F(sctp_paddrparams, spp_assoc_id, "assocId", kI32),
    F(sctp_paddrparams, spp_address, "address", kAddress),
    F(sctp_paddrparams, spp_hbinterval, "heartbeatInterval", kU32),
    F(sctp_paddrparams, spp_pathmaxrxt, "pathMaxRetransmissions", kU16),
    F(sctp_paddrparams, spp_pathmtu, "pathMtu", kU32),
    F(sctp_paddrparams, spp_sackdelay, "sackDelay", kU32),
    F(sctp_paddrparams, spp_flags, "flags", kU32),
    F(sctp_paddrparams, spp_ipv6_flowlabel, "ipv6FlowLabel", kU32),
    F(sctp_paddrparams, spp_dscp, "dscp", kU8),
};
#define PADDRINFO(type, prefix)                                                               \
  F(type, prefix spinfo_assoc_id, "assocId", kI32),                                           \
      F(type, prefix spinfo_address, "address", kAddress),                                    \
      F(type, prefix spinfo_state, "state", kI32), F(type, prefix spinfo_cwnd, "cwnd", kU32), \
      F(type, prefix spinfo_srtt, "srtt", kU32), F(type, prefix spinfo_rto, "rto", kU32),     \
      F(type, prefix spinfo_mtu, "mtu", kU32)
static const Field kPaddrInfo[] = {PADDRINFO(sctp_paddrinfo, )};
static const Field kStatus[] = {
    F(sctp_status, sstat_assoc_id, "assocId", kI32),
    F(sctp_status, sstat_state, "state", kI32),
    F(sctp_status, sstat_rwnd, "rwnd", kU32),
    F(sctp_status, sstat_unackdata, "unackedData", kU16),
    F(sctp_status, sstat_penddata, "pendingData", kU16),
    F(sctp_status, sstat_instrms, "inboundStreams", kU16),
    F(sctp_status, sstat_outstrms, "outboundStreams", kU16),
    F(sctp_status, sstat_fragmentation_point, "fragmentationPoint", kU32),
    // the primary path, flattened with a "primary" prefix
    F(sctp_status, sstat_primary.spinfo_address, "primaryAddress", kAddress),
    F(sctp_status, sstat_primary.spinfo_state, "primaryState", kI32),
    F(sctp_status, sstat_primary.spinfo_cwnd, "primaryCwnd", kU32),
    F(sctp_status, sstat_primary.spinfo_srtt, "primarySrtt", kU32),
    F(sctp_status, sstat_primary.spinfo_rto, "primaryRto", kU32),
    F(sctp_status, sstat_primary.spinfo_mtu, "primaryMtu", kU32),
};
static const Field kPrim[] = {
    F(sctp_prim, ssp_assoc_id, "assocId", kI32),
    F(sctp_prim, ssp_addr, "address", kAddress),
};
static const Field kSetPeerPrim[] = {
    F(sctp_setpeerprim, sspp_assoc_id, "assocId", kI32),
    F(sctp_setpeerprim, sspp_addr, "address", kAddress),
};
static const Field kSndInfo[] = {
    F(sctp_sndinfo, snd_sid, "stream", kU16),       F(sctp_sndinfo, snd_flags, "flags", kU16),
    F(sctp_sndinfo, snd_ppid, "ppid", kBe32),       F(sctp_sndinfo, snd_context, "context", kU32),
    F(sctp_sndinfo, snd_assoc_id, "assocId", kI32),
};
static const Field kSetAdaptation[] = {
    F(sctp_setadaptation, ssb_adaptation_ind, "value", kU32),
};
static const Field kLinger[] = {
    F(linger, l_onoff, "onoff", kI32),
    F(linger, l_linger, "linger", kI32),
};
static const Field kEvent[] = {
    F(sctp_event, se_assoc_id, "assocId", kI32),
    F(sctp_event, se_type, "type", kU16),
    F(sctp_event, se_on, "on", kU8),
};
static const Field kUdpEncaps[] = {
    F(sctp_udpencaps, sue_assoc_id, "assocId", kI32),
    F(sctp_udpencaps, sue_address, "address", kAddress),
    F(sctp_udpencaps, sue_port, "port", kBe16),
};
static const Field kAssocStats[] = {
    F(sctp_assoc_stats, sas_assoc_id, "assocId", kI32),
    F(sctp_assoc_stats, sas_obs_rto_ipaddr, "maxRtoAddress", kAddress),
    F(sctp_assoc_stats, sas_maxrto, "maxRto", kU64),
    F(sctp_assoc_stats, sas_isacks, "inSacks", kU64),
    F(sctp_assoc_stats, sas_osacks, "outSacks", kU64),
    F(sctp_assoc_stats, sas_opackets, "outPackets", kU64),
    F(sctp_assoc_stats, sas_ipackets, "inPackets", kU64),
    F(sctp_assoc_stats, sas_rtxchunks, "retransmittedChunks", kU64),
    F(sctp_assoc_stats, sas_outofseqtsns, "outOfSequenceTsns", kU64),
    F(sctp_assoc_stats, sas_idupchunks, "duplicateChunks", kU64),
    F(sctp_assoc_stats, sas_gapcnt, "gapAcks", kU64),
    F(sctp_assoc_stats, sas_ouodchunks, "outUnorderedChunks", kU64),
    F(sctp_assoc_stats, sas_iuodchunks, "inUnorderedChunks", kU64),
    F(sctp_assoc_stats, sas_oodchunks, "outOrderedChunks", kU64),
    F(sctp_assoc_stats, sas_iodchunks, "inOrderedChunks", kU64),
    F(sctp_assoc_stats, sas_octrlchunks, "outControlChunks", kU64),
    F(sctp_assoc_stats, sas_ictrlchunks, "inControlChunks", kU64),
};
static const Field kDefaultPrInfo[] = {
    F(sctp_default_prinfo, pr_assoc_id, "assocId", kI32),
    F(sctp_default_prinfo, pr_value, "value", kU32),
    F(sctp_default_prinfo, pr_policy, "policy", kU16),
};
static const Field kPrStatus[] = {
    F(sctp_prstatus, sprstat_assoc_id, "assocId", kI32),
    F(sctp_prstatus, sprstat_sid, "stream", kU16),
    F(sctp_prstatus, sprstat_policy, "policy", kU16),
    F(sctp_prstatus, sprstat_abandoned_unsent, "abandonedUnsent", kU64),
    F(sctp_prstatus, sprstat_abandoned_sent, "abandonedSent", kU64),
};
static const Field kPaddrThresholds[] = {
    F(sctp_paddrthlds_v2, spt_assoc_id, "assocId", kI32),
    F(sctp_paddrthlds_v2, spt_address, "address", kAddress),
    F(sctp_paddrthlds_v2, spt_pathmaxrxt, "pathMaxRetransmissions", kU16),
    F(sctp_paddrthlds_v2, spt_pathpfthld, "potentiallyFailedThreshold", kU16),
    F(sctp_paddrthlds_v2, spt_pathcpthld, "primaryChangeThreshold", kU16),
};
static const Field kProbeInterval[] = {
    F(sctp_probeinterval, spi_assoc_id, "assocId", kI32),
    F(sctp_probeinterval, spi_address, "address", kAddress),
    F(sctp_probeinterval, spi_interval, "interval", kU32),
};
static const Field kStreamValue[] = {
    F(sctp_stream_value, assoc_id, "assocId", kI32),
    F(sctp_stream_value, stream_id, "stream", kU16),
    F(sctp_stream_value, stream_value, "value", kU16),
};
static const Field kAddStreams[] = {
    F(sctp_add_streams, sas_assoc_id, "assocId", kI32),
    F(sctp_add_streams, sas_instrms, "inStreams", kU16),
    F(sctp_add_streams, sas_outstrms, "outStreams", kU16),
};
static const Field kAuthKeyId[] = {
    F(sctp_authkeyid, scact_assoc_id, "assocId", kI32),
    F(sctp_authkeyid, scact_keynumber, "keyNumber", kU16),
};
static const Field kAuthChunk[] = {
    F(sctp_authchunk, sauth_chunk, "chunk", kU8),
};
static const Field kAssocId[] = {{"assocId", 0, FieldKind::kI32}};  // a bare sctp_assoc_t
static const Field kResetStreams[] = {
    F(sctp_reset_streams, srs_assoc_id, "assocId", kI32),
    F(sctp_reset_streams, srs_flags, "flags", kU16),
};
static const Field kAuthKey[] = {
    F(sctp_authkey, sca_assoc_id, "assocId", kI32),
    F(sctp_authkey, sca_keynumber, "keyNumber", kU16),
};
static const Field kAuthChunks[] = {
    F(sctp_authchunks, gauth_assoc_id, "assocId", kI32),
};

// The lists after the fixed parts. The bounds are the count fields' own (a u16 of streams,
// a u16 of key bytes), a chunk type's range, and a few more HMACs than the kernel knows
// (it refuses more than it knows with EINVAL).
#define TAIL(type, member, name, element, count_member, count_kind, max)     \
  {                                                                          \
    name, static_cast<uint16_t>(offsetof(type, member)), FieldKind::element, \
        F(type, count_member, "count", count_kind), max                      \
  }
static const Tail kStreamList =
    TAIL(sctp_reset_streams, srs_stream_list, "streams", kU16, srs_number_streams, kU16, 65535);
static const Tail kKeyBytes = TAIL(sctp_authkey, sca_key, "key", kU8, sca_keylength, kU16, 65535);
static const Tail kChunkTypes =
    TAIL(sctp_authchunks, gauth_chunks, "chunks", kU8, gauth_number_of_chunks, kU32, 256);
static const Tail kHmacIdents =
    TAIL(sctp_hmacalgo, shmac_idents, "idents", kU16, shmac_num_idents, kU32, 16);
#undef TAIL

#undef PADDRINFO
#undef F

#define INT_OPTION(level, opt)                                   \
  {                                                              \
#opt, level, opt, { "int", sizeof(int), KSCTP_FIELDS(kInt) } \
  }
#define STRUCT_OPTION(opt, type, fields)                                   \
  {                                                                        \
#opt, IPPROTO_SCTP, opt, { #type, sizeof(type), KSCTP_FIELDS(fields) } \
  }
#define TAIL_OPTION(opt, type, fields, tail)                                      \
  {                                                                               \
#opt, IPPROTO_SCTP, opt, { #type, sizeof(type), KSCTP_FIELDS(fields), &tail } \
  }

static const SocketOption kOptions[] = {
    INT_OPTION(SOL_SOCKET, SO_RCVBUF),
    INT_OPTION(SOL_SOCKET, SO_SNDBUF),
    INT_OPTION(SOL_SOCKET, SO_RCVBUFFORCE),
    INT_OPTION(SOL_SOCKET, SO_SNDBUFFORCE),
    INT_OPTION(SOL_SOCKET, SO_REUSEADDR),
    INT_OPTION(SOL_SOCKET, SO_REUSEPORT),
    INT_OPTION(SOL_SOCKET, SO_ERROR),
    INT_OPTION(IPPROTO_IPV6, IPV6_V6ONLY),
    {"SO_LINGER", SOL_SOCKET, SO_LINGER, {"linger", sizeof(linger), KSCTP_FIELDS(kLinger)}},
    INT_OPTION(IPPROTO_SCTP, SCTP_NODELAY),
    INT_OPTION(IPPROTO_SCTP, SCTP_AUTOCLOSE),
    INT_OPTION(IPPROTO_SCTP, SCTP_DISABLE_FRAGMENTS),
    INT_OPTION(IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE),
    INT_OPTION(IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT),
    INT_OPTION(IPPROTO_SCTP, SCTP_RECVRCVINFO),
    INT_OPTION(IPPROTO_SCTP, SCTP_RECVNXTINFO),
    INT_OPTION(IPPROTO_SCTP, SCTP_GET_ASSOC_NUMBER),
    INT_OPTION(IPPROTO_SCTP, SCTP_AUTO_ASCONF),
    INT_OPTION(IPPROTO_SCTP, SCTP_REUSE_PORT),
    INT_OPTION(IPPROTO_SCTP, SCTP_I_WANT_MAPPED_V4_ADDR),
    STRUCT_OPTION(SCTP_INITMSG, sctp_initmsg, kInitMsg),
    STRUCT_OPTION(SCTP_RTOINFO, sctp_rtoinfo, kRtoInfo),
    STRUCT_OPTION(SCTP_ASSOCINFO, sctp_assocparams, kAssocParams),
    STRUCT_OPTION(SCTP_PEER_ADDR_PARAMS, sctp_paddrparams, kPaddrParams),
    STRUCT_OPTION(SCTP_GET_PEER_ADDR_INFO, sctp_paddrinfo, kPaddrInfo),
    STRUCT_OPTION(SCTP_STATUS, sctp_status, kStatus),
    STRUCT_OPTION(SCTP_PRIMARY_ADDR, sctp_prim, kPrim),
    STRUCT_OPTION(SCTP_SET_PEER_PRIMARY_ADDR, sctp_setpeerprim, kSetPeerPrim),
    STRUCT_OPTION(SCTP_DELAYED_SACK, sctp_sack_info, kSackInfo),
    STRUCT_OPTION(SCTP_MAXSEG, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_MAX_BURST, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_CONTEXT, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_PR_SUPPORTED, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_RECONFIG_SUPPORTED, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_ENABLE_STREAM_RESET, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_INTERLEAVING_SUPPORTED, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_ASCONF_SUPPORTED, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_AUTH_SUPPORTED, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_ECN_SUPPORTED, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_STREAM_SCHEDULER, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_DEFAULT_SNDINFO, sctp_sndinfo, kSndInfo),
    STRUCT_OPTION(SCTP_ADAPTATION_LAYER, sctp_setadaptation, kSetAdaptation),
    STRUCT_OPTION(SCTP_EVENT, sctp_event, kEvent),
    STRUCT_OPTION(SCTP_REMOTE_UDP_ENCAPS_PORT, sctp_udpencaps, kUdpEncaps),
    STRUCT_OPTION(SCTP_GET_ASSOC_STATS, sctp_assoc_stats, kAssocStats),
    STRUCT_OPTION(SCTP_DEFAULT_PRINFO, sctp_default_prinfo, kDefaultPrInfo),
    STRUCT_OPTION(SCTP_PR_ASSOC_STATUS, sctp_prstatus, kPrStatus),
    STRUCT_OPTION(SCTP_PR_STREAM_STATUS, sctp_prstatus, kPrStatus),
    STRUCT_OPTION(SCTP_PEER_ADDR_THLDS_V2, sctp_paddrthlds_v2, kPaddrThresholds),
    STRUCT_OPTION(SCTP_EXPOSE_POTENTIALLY_FAILED_STATE, sctp_assoc_value, kAssocValue),
    STRUCT_OPTION(SCTP_PLPMTUD_PROBE_INTERVAL, sctp_probeinterval, kProbeInterval),
    STRUCT_OPTION(SCTP_STREAM_SCHEDULER_VALUE, sctp_stream_value, kStreamValue),
    STRUCT_OPTION(SCTP_ADD_STREAMS, sctp_add_streams, kAddStreams),
    STRUCT_OPTION(SCTP_AUTH_ACTIVE_KEY, sctp_authkeyid, kAuthKeyId),
    STRUCT_OPTION(SCTP_AUTH_DEACTIVATE_KEY, sctp_authkeyid, kAuthKeyId),
    STRUCT_OPTION(SCTP_AUTH_DELETE_KEY, sctp_authkeyid, kAuthKeyId),
    STRUCT_OPTION(SCTP_AUTH_CHUNK, sctp_authchunk, kAuthChunk),
    STRUCT_OPTION(SCTP_RESET_ASSOC, sctp_assoc_t, kAssocId),
    TAIL_OPTION(SCTP_RESET_STREAMS, sctp_reset_streams, kResetStreams, kStreamList),
    TAIL_OPTION(SCTP_AUTH_KEY, sctp_authkey, kAuthKey, kKeyBytes),
    TAIL_OPTION(SCTP_PEER_AUTH_CHUNKS, sctp_authchunks, kAuthChunks, kChunkTypes),
    TAIL_OPTION(SCTP_LOCAL_AUTH_CHUNKS, sctp_authchunks, kAuthChunks, kChunkTypes),
    {"SCTP_HMAC_IDENT",
     IPPROTO_SCTP,
     SCTP_HMAC_IDENT,
     {"sctp_hmacalgo", sizeof(sctp_hmacalgo), nullptr, 0, &kHmacIdents}},  // only a list
};

#undef INT_OPTION
#undef STRUCT_OPTION
#undef TAIL_OPTION

const SocketOption* FindOption(const std::string& name) {
  for (const auto& option : kOptions) {
    if (name == option.name) return &option;
  }
  return nullptr;
}

const SocketOption* OptionTable(size_t* count) {
  *count = sizeof(kOptions) / sizeof(kOptions[0]);
  return kOptions;
}

}  // namespace ksctp
