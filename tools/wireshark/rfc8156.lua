-- Wireshark dissector for the DHCPv6 Failover Protocol, RFC 8156.
--
-- Written from the RFC text (RFC 8156 §5, RFC 5460 §5.1, RFC 3315 §22, RFC 3633, RFC 4704,
-- RFC 5007, RFC 6607, RFC 7653), not from any implementation. Wireshark's built-in "dhcpfo"
-- dissector decodes the DHCPv4 failover protocol on the same port and shows every RFC 8156
-- message as "Unknown Packet"; this one takes TCP port 647 over.
--
-- Load it for one run:      tshark -X lua_script:tools/wireshark/rfc8156.lua -r capture.pcap -V
--                           wireshark -X lua_script:tools/wireshark/rfc8156.lua capture.pcap
-- or for good: copy it into the personal Lua plugins folder (Help > About Wireshark > Folders,
-- "Personal Lua Plugins", usually ~/.local/lib/wireshark/plugins/).
-- Another port:             -o rfc8156.tcp_port:16470   (Preferences > Protocols > RFC8156)
--
-- Display filter fields all start with "rfc8156." (e.g. rfc8156.msg_type == 24,
-- rfc8156.server_state, rfc8156.status_code == 19).

local proto = Proto("rfc8156", "DHCPv6 Failover Protocol (RFC 8156)")

local EPOCH_2000 = 946684800 -- seconds from 1970-01-01 to 2000-01-01 (RFC 8156 §3)
local MAX_DEPTH = 8          -- encapsulation levels opened before giving up

-- RFC 8156 §5.3 and §11: the message types.
local msg_types = {
    [24] = "BNDUPD", [25] = "BNDREPLY", [26] = "POOLREQ", [27] = "POOLRESP",
    [28] = "UPDREQ", [29] = "UPDREQALL", [30] = "UPDDONE", [31] = "CONNECT",
    [32] = "CONNECTREPLY", [33] = "DISCONNECT", [34] = "STATE", [35] = "CONTACT",
    -- RFC 7653 §8.2 (RFC 8156 §6.1): the TLS negotiation before CONNECT, in RFC 3315 format.
    [7] = "REPLY", [23] = "STARTTLS",
}

-- The subsection of RFC 8156 §5.3 that defines each message.
local msg_sections = {
    [24] = "5.3.1", [25] = "5.3.2", [26] = "5.3.3", [27] = "5.3.4", [28] = "5.3.5",
    [29] = "5.3.6", [30] = "5.3.7", [31] = "5.3.8", [32] = "5.3.9", [33] = "5.3.10",
    [34] = "5.3.11", [35] = "5.3.12",
}

-- Options a failover message carries (RFC 8156 §5.5, §7.4) and where each is defined.
local option_names = {
    [1] = "OPTION_CLIENTID", [3] = "OPTION_IA_NA", [4] = "OPTION_IA_TA", [5] = "OPTION_IAADDR",
    [13] = "OPTION_STATUS_CODE", [25] = "OPTION_IA_PD", [26] = "OPTION_IAPREFIX",
    [39] = "OPTION_CLIENT_FQDN", [45] = "OPTION_CLIENT_DATA", [46] = "OPTION_CLT_TIME",
    [47] = "OPTION_LQ_RELAY_DATA", [68] = "OPTION_VSS", [100] = "OPTION_LQ_BASE_TIME",
    [114] = "OPTION_F_BINDING_STATUS", [115] = "OPTION_F_CONNECT_FLAGS",
    [116] = "OPTION_F_DNS_REMOVAL_INFO", [117] = "OPTION_F_DNS_HOST_NAME",
    [118] = "OPTION_F_DNS_ZONE_NAME", [119] = "OPTION_F_DNS_FLAGS",
    [120] = "OPTION_F_EXPIRATION_TIME", [121] = "OPTION_F_MAX_UNACKED_BNDUPD",
    [122] = "OPTION_F_MCLT", [123] = "OPTION_F_PARTNER_LIFETIME",
    [124] = "OPTION_F_PARTNER_LIFETIME_SENT", [125] = "OPTION_F_PARTNER_DOWN_TIME",
    [126] = "OPTION_F_PARTNER_RAW_CLT_TIME", [127] = "OPTION_F_PROTOCOL_VERSION",
    [128] = "OPTION_F_KEEPALIVE_TIME", [129] = "OPTION_F_RECONFIGURE_DATA",
    [130] = "OPTION_F_RELATIONSHIP_NAME", [131] = "OPTION_F_SERVER_FLAGS",
    [132] = "OPTION_F_SERVER_STATE", [133] = "OPTION_F_START_TIME_OF_STATE",
    [134] = "OPTION_F_STATE_EXPIRATION_TIME",
}

local option_refs = {
    [1] = "RFC 3315 §22.2", [3] = "RFC 3315 §22.4", [4] = "RFC 3315 §22.5",
    [5] = "RFC 3315 §22.6", [13] = "RFC 3315 §22.13", [25] = "RFC 3633 §9",
    [26] = "RFC 3633 §10", [39] = "RFC 4704 §4", [45] = "RFC 5007 §4.1.2.2",
    [46] = "RFC 5007 §4.1.2.3", [47] = "RFC 5007 §4.1.2.4", [68] = "RFC 6607 §3.4",
    [100] = "RFC 7653 §6.3.1", [114] = "RFC 8156 §5.5.1", [115] = "RFC 8156 §5.5.2",
    [116] = "RFC 8156 §5.5.3", [117] = "RFC 8156 §5.5.3.1", [118] = "RFC 8156 §5.5.3.2",
    [119] = "RFC 8156 §5.5.3.3", [120] = "RFC 8156 §5.5.4", [121] = "RFC 8156 §5.5.5",
    [122] = "RFC 8156 §5.5.6", [123] = "RFC 8156 §5.5.7", [124] = "RFC 8156 §5.5.8",
    [125] = "RFC 8156 §5.5.9", [126] = "RFC 8156 §5.5.10", [127] = "RFC 8156 §5.5.11",
    [128] = "RFC 8156 §5.5.12", [129] = "RFC 8156 §5.5.13", [130] = "RFC 8156 §5.5.14",
    [131] = "RFC 8156 §5.5.15", [132] = "RFC 8156 §5.5.16", [133] = "RFC 8156 §5.5.17",
    [134] = "RFC 8156 §5.5.18",
}

-- RFC 8156 §5.5.1: binding-status.
local binding_statuses = {
    [1] = "ACTIVE", [2] = "EXPIRED", [3] = "RELEASED", [4] = "PENDING-FREE", [5] = "FREE",
    [6] = "FREE-BACKUP", [7] = "ABANDONED", [8] = "RESET",
}

-- RFC 8156 §5.5.16: server-state.
local server_states = {
    [1] = "STARTUP", [2] = "NORMAL", [3] = "COMMUNICATIONS-INTERRUPTED", [4] = "PARTNER-DOWN",
    [5] = "POTENTIAL-CONFLICT", [6] = "RECOVER", [7] = "RECOVER-WAIT", [8] = "RECOVER-DONE",
    [9] = "RESOLUTION-INTERRUPTED", [10] = "CONFLICT-DONE",
}

-- RFC 3315 §24.4, RFC 5007 §5, RFC 5460 §5.5, RFC 7653 §7.4, RFC 8156 §5.6: status codes.
local status_codes = {
    [0] = "Success", [1] = "UnspecFail", [2] = "NoAddrsAvail", [3] = "NoBinding",
    [4] = "NotOnLink", [5] = "UseMulticast", [6] = "NoPrefixAvail", [7] = "UnknownQueryType",
    [8] = "MalformedQuery", [9] = "NotConfigured", [10] = "NotAllowed",
    [11] = "QueryTerminated", [12] = "DataMissing", [13] = "CatchUpComplete",
    [14] = "NotSupported", [15] = "TLSConnectionRefused", [16] = "AddressInUse",
    [17] = "ConfigurationConflict", [18] = "MissingBindingInformation",
    [19] = "OutdatedBindingInformation", [20] = "ServerShuttingDown",
    [21] = "DNSUpdateNotSupported", [22] = "ExcessiveTimeSkew",
}

local f = proto.fields
-- RFC 5460 §5.1 framing and RFC 8156 §5.2 header.
f.message_size = ProtoField.uint16("rfc8156.message_size", "Message size", base.DEC)
f.msg_type = ProtoField.uint8("rfc8156.msg_type", "Message type", base.DEC, msg_types)
f.transaction_id = ProtoField.uint24("rfc8156.transaction_id", "Transaction ID", base.HEX_DEC)
f.sent_time = ProtoField.absolute_time("rfc8156.sent_time", "Sent time", base.UTC)
-- RFC 3315 §22.1 option layout.
f.option = ProtoField.none("rfc8156.option", "Option")
f.option_code = ProtoField.uint16("rfc8156.option.code", "Option code", base.DEC, option_names)
f.option_len = ProtoField.uint16("rfc8156.option.len", "Option length", base.DEC)
f.option_data = ProtoField.bytes("rfc8156.option.data", "Option data")
-- Option values.
f.duid = ProtoField.bytes("rfc8156.clientid", "Client DUID")
f.iaid = ProtoField.uint32("rfc8156.iaid", "IAID", base.HEX_DEC)
f.t1 = ProtoField.uint32("rfc8156.t1", "T1 (seconds)", base.DEC)
f.t2 = ProtoField.uint32("rfc8156.t2", "T2 (seconds)", base.DEC)
f.address = ProtoField.ipv6("rfc8156.address", "IPv6 address")
f.preferred_lifetime = ProtoField.uint32("rfc8156.preferred_lifetime", "Preferred lifetime (seconds)", base.DEC)
f.valid_lifetime = ProtoField.uint32("rfc8156.valid_lifetime", "Valid lifetime (seconds)", base.DEC)
f.prefix_length = ProtoField.uint8("rfc8156.prefix_length", "Prefix length", base.DEC)
f.prefix = ProtoField.ipv6("rfc8156.prefix", "IPv6 prefix")
f.status_code = ProtoField.uint16("rfc8156.status_code", "Status code", base.DEC, status_codes)
f.status_message = ProtoField.string("rfc8156.status_message", "Status message", base.UNICODE)
f.fqdn_flags = ProtoField.uint8("rfc8156.fqdn.flags", "FQDN flags", base.HEX)
f.fqdn_name = ProtoField.string("rfc8156.fqdn.name", "Domain name")
f.clt_time = ProtoField.uint32("rfc8156.clt_time", "Client last transaction time (seconds before the base time)", base.DEC)
f.lq_base_time = ProtoField.absolute_time("rfc8156.lq_base_time", "Base time", base.UTC)
f.relay_peer = ProtoField.ipv6("rfc8156.relay.peer_address", "Peer address")
f.relay_message = ProtoField.bytes("rfc8156.relay.message", "Relay message")
f.vss_type = ProtoField.uint8("rfc8156.vss.type", "VSS type", base.DEC)
f.vss_info = ProtoField.bytes("rfc8156.vss.info", "VPN identifier")
f.binding_status = ProtoField.uint8("rfc8156.binding_status", "Binding status", base.DEC, binding_statuses)
f.connect_flags = ProtoField.uint16("rfc8156.connect_flags", "Connect flags", base.HEX)
f.connect_flags_f = ProtoField.bool("rfc8156.connect_flags.fixed_pd_length", "FIXED_PD_LENGTH", 16, nil, 0x0001)
f.dns_host_name = ProtoField.string("rfc8156.dns.host_name", "DNS host name")
f.dns_zone_name = ProtoField.string("rfc8156.dns.zone_name", "DNS zone name")
f.dns_flags = ProtoField.uint16("rfc8156.dns.flags", "DNS flags", base.HEX)
f.dns_flags_u = ProtoField.bool("rfc8156.dns.flags.using_requested_fqdn", "USING_REQUESTED_FQDN (U)", 16, nil, 0x0008)
f.dns_flags_s = ProtoField.bool("rfc8156.dns.flags.synthesized_name", "SYNTHESIZED_NAME (S)", 16, nil, 0x0004)
f.dns_flags_r = ProtoField.bool("rfc8156.dns.flags.rev_uptodate", "REV_UPTODATE (R)", 16, nil, 0x0002)
f.dns_flags_f = ProtoField.bool("rfc8156.dns.flags.fwd_uptodate", "FWD_UPTODATE (F)", 16, nil, 0x0001)
f.expiration_time = ProtoField.absolute_time("rfc8156.expiration_time", "Expiration time", base.UTC)
f.max_unacked_bndupd = ProtoField.uint32("rfc8156.max_unacked_bndupd", "Max unacked BNDUPD", base.DEC)
f.mclt = ProtoField.uint32("rfc8156.mclt", "MCLT (seconds)", base.DEC)
f.partner_lifetime = ProtoField.absolute_time("rfc8156.partner_lifetime", "Partner lifetime", base.UTC)
f.partner_lifetime_sent = ProtoField.absolute_time("rfc8156.partner_lifetime_sent", "Partner lifetime sent", base.UTC)
f.partner_down_time = ProtoField.absolute_time("rfc8156.partner_down_time", "Partner down time", base.UTC)
f.partner_raw_clt_time = ProtoField.absolute_time("rfc8156.partner_raw_clt_time", "Partner raw CLT time", base.UTC)
f.version_major = ProtoField.uint16("rfc8156.protocol_version.major", "Major version", base.DEC)
f.version_minor = ProtoField.uint16("rfc8156.protocol_version.minor", "Minor version", base.DEC)
f.keepalive_time = ProtoField.uint32("rfc8156.keepalive_time", "Keepalive time (seconds)", base.DEC)
f.reconfigure_time = ProtoField.absolute_time("rfc8156.reconfigure_time", "Reconfigure time", base.UTC)
f.reconfigure_key = ProtoField.bytes("rfc8156.reconfigure_key", "Reconfigure key")
f.relationship_name = ProtoField.string("rfc8156.relationship_name", "Relationship name", base.UNICODE)
f.server_flags = ProtoField.uint8("rfc8156.server_flags", "Server flags", base.HEX)
f.server_flags_a = ProtoField.bool("rfc8156.server_flags.ack_startup", "ACK_STARTUP (A)", 8, nil, 0x04)
f.server_flags_s = ProtoField.bool("rfc8156.server_flags.startup", "STARTUP (S)", 8, nil, 0x02)
f.server_flags_c = ProtoField.bool("rfc8156.server_flags.communicated", "COMMUNICATED (C)", 8, nil, 0x01)
f.server_state = ProtoField.uint8("rfc8156.server_state", "Server state", base.DEC, server_states)
f.start_time_of_state = ProtoField.absolute_time("rfc8156.start_time_of_state", "Start time of state", base.UTC)
f.state_expiration_time = ProtoField.absolute_time("rfc8156.state_expiration_time", "State expiration time", base.UTC)

local e = {
    bad_size = ProtoExpert.new("rfc8156.expert.bad_message_size", "Bad message-size",
        expert.group.MALFORMED, expert.severity.ERROR),
    unknown_type = ProtoExpert.new("rfc8156.expert.unknown_msg_type", "Unknown msg-type",
        expert.group.MALFORMED, expert.severity.WARN),
    option_overrun = ProtoExpert.new("rfc8156.expert.option_overrun", "Option runs past its container",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_length = ProtoExpert.new("rfc8156.expert.bad_option_len", "Option length not as the RFC fixes it",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_value = ProtoExpert.new("rfc8156.expert.bad_value", "Value not defined by the RFC",
        expert.group.MALFORMED, expert.severity.WARN),
    mbz = ProtoExpert.new("rfc8156.expert.mbz", "Must-be-zero bits set",
        expert.group.PROTOCOL, expert.severity.WARN),
    too_deep = ProtoExpert.new("rfc8156.expert.too_deep", "Options nested too deep",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_name = ProtoExpert.new("rfc8156.expert.bad_dns_name", "Malformed DNS name",
        expert.group.MALFORMED, expert.severity.WARN),
    cut_short = ProtoExpert.new("rfc8156.expert.cut_short", "Message cut short in the capture",
        expert.group.MALFORMED, expert.severity.WARN),
}
proto.experts = {
    e.bad_size, e.unknown_type, e.option_overrun, e.bad_length, e.bad_value, e.mbz, e.too_deep,
    e.bad_name, e.cut_short,
}

proto.prefs.tcp_port = Pref.uint("TCP port", 647,
    "The dhcp-failover port the secondary listens on (RFC 8156 §6.1)")

-- An RFC 1035 name in wire form as text, or nil and the reason (RFC 3315 §8: no compression).
local function dns_name(tvb_range)
    local n = tvb_range:len()
    if n == 0 then return "" end
    local labels = {}
    local off = 0
    while off < n do
        local len = tvb_range(off, 1):uint()
        if len == 0 then
            if off + 1 ~= n then return nil, "octets after the root label" end
            return table.concat(labels, ".") .. "."
        end
        if len > 63 then return nil, "label length " .. len .. " over 63" end
        if off + 1 + len > n then return nil, "label runs past the end" end
        labels[#labels + 1] = tvb_range(off + 1, len):string()
        off = off + 1 + len
    end
    -- RFC 4704 §4.2: a partial name has no root label.
    return table.concat(labels, "."), nil
end

local function time_value(tvb_range)
    return NSTime.new(tvb_range:uint() + EPOCH_2000, 0)
end

local function utc(secs)
    return os.date("!%Y-%m-%d %H:%M:%S UTC", secs + EPOCH_2000)
end

-- Fixed data lengths (exact) and minimum lengths of the options whose layout the RFCs fix.
local exact_len = {
    [46] = 4, [100] = 4, [114] = 1, [115] = 2, [119] = 2, [120] = 4, [121] = 4, [122] = 4,
    [123] = 4, [124] = 4, [125] = 4, [126] = 4, [127] = 4, [128] = 4, [131] = 1, [132] = 1,
    [133] = 4, [134] = 4,
}
local min_len = {
    [3] = 12, [4] = 4, [5] = 24, [13] = 2, [25] = 12, [26] = 25, [39] = 1, [47] = 16, [68] = 1,
    [129] = 4,
}

-- Absolute times (seconds since 2000-01-01 UTC, RFC 8156 §3) and intervals, by option code.
local time_fields = {
    [100] = f.lq_base_time, [120] = f.expiration_time, [123] = f.partner_lifetime,
    [124] = f.partner_lifetime_sent, [125] = f.partner_down_time,
    [126] = f.partner_raw_clt_time, [133] = f.start_time_of_state,
    [134] = f.state_expiration_time,
}
local interval_fields = {
    [46] = f.clt_time, [121] = f.max_unacked_bndupd, [122] = f.mclt, [128] = f.keepalive_time,
}

local dissect_options

-- What the Info column says about one message (filled while its options are read).
local summary

-- The value of one option; `data` is its data range (may be empty), `item` its tree item.
-- Returns a short text for the item's label.
local function dissect_value(code, data, pinfo, item, depth)
    local len = data:len()
    if code == 1 then
        item:add(f.duid, data)
        return tostring(data:bytes())
    elseif code == 3 or code == 25 then
        -- IA_NA (RFC 3315 §22.4), IA_PD (RFC 3633 §9): IAID, T1, T2, options.
        item:add(f.iaid, data(0, 4))
        item:add(f.t1, data(4, 4))
        item:add(f.t2, data(8, 4))
        dissect_options(data, 12, pinfo, item, depth + 1)
        return string.format("IAID 0x%08x", data(0, 4):uint())
    elseif code == 4 then
        item:add(f.iaid, data(0, 4))
        dissect_options(data, 4, pinfo, item, depth + 1)
        return string.format("IAID 0x%08x", data(0, 4):uint())
    elseif code == 5 then
        -- IAADDR (RFC 3315 §22.6): address, preferred and valid lifetimes, options.
        item:add(f.address, data(0, 16))
        item:add(f.preferred_lifetime, data(16, 4))
        item:add(f.valid_lifetime, data(20, 4))
        dissect_options(data, 24, pinfo, item, depth + 1)
        local a = tostring(data(0, 16):ipv6())
        summary.lease = summary.lease or a
        return a
    elseif code == 26 then
        -- IAPREFIX (RFC 3633 §10): lifetimes, prefix-length, prefix, options.
        item:add(f.preferred_lifetime, data(0, 4))
        item:add(f.valid_lifetime, data(4, 4))
        local plen_item = item:add(f.prefix_length, data(8, 1))
        local plen = data(8, 1):uint()
        if plen > 128 then
            plen_item:add_proto_expert_info(e.bad_value, "prefix-length " .. plen .. " is over 128 (RFC 3633 §10)")
        end
        item:add(f.prefix, data(9, 16))
        dissect_options(data, 25, pinfo, item, depth + 1)
        local p = tostring(data(9, 16):ipv6()) .. "/" .. plen
        summary.lease = summary.lease or p
        return p
    elseif code == 13 then
        -- STATUS_CODE (RFC 3315 §22.13): status-code, UTF-8 status-message.
        local sc = data(0, 2):uint()
        local sitem = item:add(f.status_code, data(0, 2))
        if status_codes[sc] == nil then
            sitem:add_proto_expert_info(e.bad_value, "status code " .. sc .. " is not defined")
        end
        if len > 2 then item:add(f.status_message, data(2, len - 2)) end
        local name = status_codes[sc] or ("status " .. sc)
        summary.status = summary.status or name
        if len > 2 then return name .. ' "' .. data(2, len - 2):string(ENC_UTF_8) .. '"' end
        return name
    elseif code == 39 then
        -- CLIENT_FQDN (RFC 4704 §4): flags, domain name.
        item:add(f.fqdn_flags, data(0, 1))
        if len > 1 then
            local name, err = dns_name(data(1, len - 1))
            if name then
                item:add(f.fqdn_name, data(1, len - 1), name)
                return name
            end
            item:add(f.fqdn_name, data(1, len - 1), "?"):add_proto_expert_info(e.bad_name, "domain name: " .. err)
        end
        return ""
    elseif code == 45 or code == 116 then
        -- CLIENT_DATA (RFC 5007 §4.1.2.2), DNS_REMOVAL_INFO (RFC 8156 §5.5.3): options only.
        dissect_options(data, 0, pinfo, item, depth + 1)
        return ""
    elseif code == 47 then
        item:add(f.relay_peer, data(0, 16))
        if len > 16 then item:add(f.relay_message, data(16, len - 16)) end
        return tostring(data(0, 16):ipv6())
    elseif code == 68 then
        item:add(f.vss_type, data(0, 1))
        if len > 1 then item:add(f.vss_info, data(1, len - 1)) end
        return "type " .. data(0, 1):uint()
    elseif code == 114 then
        local v = data:uint()
        local it = item:add(f.binding_status, data)
        if binding_statuses[v] == nil then
            it:add_proto_expert_info(e.bad_value, "binding-status " .. v .. " is not defined (RFC 8156 §5.5.1)")
        end
        summary.binding = summary.binding or binding_statuses[v]
        return binding_statuses[v] or ("binding-status " .. v)
    elseif code == 115 then
        local it = item:add(f.connect_flags, data)
        it:add(f.connect_flags_f, data)
        if bit32.band(data:uint(), 0xFFFE) ~= 0 then
            it:add_proto_expert_info(e.mbz, "bits 0-14 must be zero (RFC 8156 §5.5.2)")
        end
        return string.format("0x%04x", data:uint())
    elseif code == 117 or code == 118 then
        local field = (code == 117) and f.dns_host_name or f.dns_zone_name
        local name, err = dns_name(data)
        if name then
            item:add(field, data, name)
            return name
        end
        item:add(field, data, "?"):add_proto_expert_info(e.bad_name, "name: " .. err)
        return "?"
    elseif code == 119 then
        local it = item:add(f.dns_flags, data)
        it:add(f.dns_flags_u, data)
        it:add(f.dns_flags_s, data)
        it:add(f.dns_flags_r, data)
        it:add(f.dns_flags_f, data)
        if bit32.band(data:uint(), 0xFFF0) ~= 0 then
            it:add_proto_expert_info(e.mbz, "bits 0-11 must be zero (RFC 8156 §5.5.3.3)")
        end
        return string.format("0x%04x", data:uint())
    elseif time_fields[code] then
        item:add(time_fields[code], data, time_value(data))
        return utc(data:uint())
    elseif interval_fields[code] then
        item:add(interval_fields[code], data)
        return tostring(data:uint())
    elseif code == 127 then
        item:add(f.version_major, data(0, 2))
        item:add(f.version_minor, data(2, 2))
        return data(0, 2):uint() .. "." .. data(2, 2):uint()
    elseif code == 129 then
        item:add(f.reconfigure_time, data(0, 4), time_value(data(0, 4)))
        if len > 4 then item:add(f.reconfigure_key, data(4, len - 4)) end
        return utc(data(0, 4):uint())
    elseif code == 130 then
        if len == 0 then return '""' end
        item:add(f.relationship_name, data)
        return '"' .. data:string(ENC_UTF_8) .. '"'
    elseif code == 131 then
        local it = item:add(f.server_flags, data)
        it:add(f.server_flags_a, data)
        it:add(f.server_flags_s, data)
        it:add(f.server_flags_c, data)
        local v = data:uint()
        if bit32.band(v, 0xF8) ~= 0 then
            it:add_proto_expert_info(e.mbz, "bits 0-4 must be zero (RFC 8156 §5.5.15)")
        end
        if bit32.band(v, 0x02) ~= 0 then summary.startup = true end
        return string.format("0x%02x", v)
    elseif code == 132 then
        local v = data:uint()
        local it = item:add(f.server_state, data)
        if server_states[v] == nil then
            it:add_proto_expert_info(e.bad_value, "server-state " .. v .. " is not defined (RFC 8156 §5.5.16)")
        end
        summary.state = summary.state or server_states[v]
        return server_states[v] or ("server-state " .. v)
    else
        item:add(f.option_data, data)
    end
    return ""
end

-- The options in `range` from `offset` to its end (RFC 3315 §22.1), under `tree`.
dissect_options = function(range, offset, pinfo, tree, depth)
    local total = range:len()
    if offset >= total then return end
    if depth > MAX_DEPTH then
        tree:add_proto_expert_info(e.too_deep, "options nested more than " .. MAX_DEPTH .. " levels deep; not opened")
        return
    end
    while offset < total do
        if total - offset < 4 then
            tree:add_proto_expert_info(e.option_overrun, (total - offset) .. " octets left, too few for an option header")
            return
        end
        local code = range(offset, 2):uint()
        local len = range(offset + 2, 2):uint()
        local name = option_names[code] or "Unknown option"
        local avail = total - offset - 4
        local whole = range(offset, 4 + math.min(len, avail))
        local item = tree:add(f.option, whole)
        item:add(f.option_code, range(offset, 2))
        local len_item = item:add(f.option_len, range(offset + 2, 2))
        if len > avail then
            len_item:add_proto_expert_info(e.option_overrun,
                name .. ": option-len " .. len .. " but only " .. avail .. " octets remain")
            item:set_text(name .. " (" .. code .. ") [truncated]")
            return
        end
        local ok_len = true
        if exact_len[code] and len ~= exact_len[code] then
            len_item:add_proto_expert_info(e.bad_length, name .. ": option-len " .. len .. ", expected " ..
                exact_len[code] .. " (" .. option_refs[code] .. ")")
            ok_len = false
        elseif min_len[code] and len < min_len[code] then
            len_item:add_proto_expert_info(e.bad_length, name .. ": option-len " .. len .. ", at least " ..
                min_len[code] .. " expected (" .. option_refs[code] .. ")")
            ok_len = false
        end
        local text = ""
        if len == 0 then
            -- No data: nothing to open (an empty DUID, name or list of options).
            if code == 130 then text = '""' end
        elseif ok_len then
            text = dissect_value(code, range(offset + 4, len), pinfo, item, depth)
        else
            item:add(f.option_data, range(offset + 4, len))
        end
        local label = name .. " (" .. code .. ")"
        if text ~= "" then label = label .. ": " .. text end
        item:set_text(label)
        offset = offset + 4 + len
    end
end

-- Info column: one entry per message, several messages in a segment joined by ", ".
local info_frame = -1

local function add_info(pinfo, text)
    if info_frame ~= pinfo.number then
        info_frame = pinfo.number
        pinfo.cols.info:set(text)
    else
        pinfo.cols.info:append(", " .. text)
    end
end

-- One framed message (RFC 5460 §5.1): message-size, then the message of RFC 8156 §5.2.
local function dissect_message(tvb, pinfo, tree)
    pinfo.cols.protocol:set("RFC8156")
    summary = {}
    local captured = tvb:len()
    local root = tree:add(proto, tvb())
    if captured < 2 then
        root:add_proto_expert_info(e.cut_short, "the capture holds " .. captured .. " octets of the message")
        return captured
    end
    local size = tvb(0, 2):uint()
    local size_item = root:add(f.message_size, tvb(0, 2))
    if size == 0 then
        size_item:add_proto_expert_info(e.bad_size, "message-size 0: no message follows (RFC 5460 §5.1)")
        add_info(pinfo, "[message-size 0]")
        return 2
    end
    local body_len = math.min(size, captured - 2)
    if body_len < size then
        root:add_proto_expert_info(e.cut_short, "message-size " .. size .. " but the capture holds " .. body_len .. " octets of it")
    end
    if body_len < 1 then
        return 2 + size
    end
    local msg = tvb(2, body_len)
    local t = msg(0, 1):uint()
    local name = msg_types[t]
    local type_item = root:add(f.msg_type, msg(0, 1))
    if t == 7 or t == 23 then
        -- RFC 7653 §8.2: STARTTLS and its REPLY use the RFC 3315 header (no sent-time).
        if body_len >= 4 then
            root:add(f.transaction_id, msg(1, 3))
            dissect_options(msg, 4, pinfo, root, 1)
        end
        root:set_text(proto.description .. ": " .. name .. " (RFC 7653 §8.2)")
        add_info(pinfo, name)
        return 2 + size
    end
    if size < 8 then
        size_item:add_proto_expert_info(e.bad_size, "message-size " .. size .. " is shorter than the 8-octet header (RFC 8156 §5.2)")
        add_info(pinfo, "[message too short]")
        return 2 + size
    end
    if name == nil then
        type_item:add_proto_expert_info(e.unknown_type, "msg-type " .. t .. " is not a failover message (RFC 8156 §5.3)")
        name = "msg-type " .. t
    end
    if body_len < 8 then
        return 2 + size
    end
    root:add(f.transaction_id, msg(1, 3))
    local sent = msg(4, 4)
    root:add(f.sent_time, sent, time_value(sent))
    dissect_options(msg, 8, pinfo, root, 1)

    local info = name
    if summary.state then info = info .. " " .. summary.state end
    if summary.startup then info = info .. " [STARTUP]" end
    if summary.lease then info = info .. " " .. summary.lease end
    if summary.binding then info = info .. " " .. summary.binding end
    if summary.status then info = info .. " " .. summary.status end
    local section = msg_sections[t] and (" (RFC 8156 §" .. msg_sections[t] .. ")") or ""
    root:set_text(proto.description .. ": " .. info .. section)
    add_info(pinfo, info)
    return 2 + size
end

-- RFC 5460 §5.1: the PDU is the two-octet message-size plus that many octets.
local function message_length(tvb, pinfo, offset)
    return 2 + tvb(offset, 2):uint()
end

function proto.dissector(tvb, pinfo, tree)
    dissect_tcp_pdus(tvb, tree, 2, message_length, dissect_message, true)
    return tvb:len()
end

local registered_port = proto.prefs.tcp_port
DissectorTable.get("tcp.port"):add(registered_port, proto)

function proto.prefs_changed()
    if proto.prefs.tcp_port ~= registered_port then
        DissectorTable.get("tcp.port"):remove(registered_port, proto)
        registered_port = proto.prefs.tcp_port
        DissectorTable.get("tcp.port"):add(registered_port, proto)
    end
end
