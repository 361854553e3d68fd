#!/usr/bin/env python3
"""Builds events.json: one vector per ports event type.

The bytes are assembled here field by field from the byte table in
src/ports/event.rs (itself the Chromium prev-peer layout: 48-byte
little-endian header, packed bodies), independently of the Rust codec.
Run: python3 vectors/ports/gen_events.py > vectors/ports/events.json
"""
import json, struct

def name(v1, v2):
    return struct.pack('<QQ', v1, v2)

def header(ty, port, frm, ctl):
    return struct.pack('<II', ty, 0) + name(*port) + name(*frm) + struct.pack('<Q', ctl)

def desc(d):
    return (name(*d['peer_node']) + name(*d['peer_port']) + name(*d['referring_node'])
            + name(*d['referring_port'])
            + struct.pack('<QQQ', d['next_seq_to_send'], d['next_seq_to_receive'], d['last_seq_to_receive'])
            + bytes([1 if d['peer_closed'] else 0]) + bytes(7))

MAX = 2**64 - 1
P = [0x1111111111111111, 0x2222222222222222]
F = [0x3333333333333333, 0x4444444444444444]
INV = [0, 0]
D = {
    'peer_node': [1, 2], 'peer_port': [3, 4], 'referring_node': [5, 6], 'referring_port': [7, 8],
    'next_seq_to_send': 9, 'next_seq_to_receive': 10, 'last_seq_to_receive': 11, 'peer_closed': True,
}

vectors = []
def add(label, ty, port, frm, ctl, body, fields):
    b = header(ty, port, frm, ctl) + body
    vectors.append({'name': label, 'type': ty, 'port': port, 'from_port': frm,
                    'control_seq': ctl, 'fields': fields, 'len': len(b), 'hex': b.hex()})

add('user_message_no_ports', 0, P, F, 1, struct.pack('<QII', 1, 0, 0) + b'hey',
    {'seq': 1, 'ports': [], 'payload_hex': b'hey'.hex()})
add('user_message_one_port', 0, P, F, 7,
    struct.pack('<QII', 42, 1, 0) + desc(D) + name(0xaaaa, 0xbbbb) + b'\x00\xff',
    {'seq': 42, 'ports': [{'name': [0xaaaa, 0xbbbb], 'descriptor': D}], 'payload_hex': '00ff'})
add('port_accepted', 1, P, INV, MAX, b'', {})
add('observe_proxy_targeted', 2, P, F, 3, name(1, 1) + name(2, 2) + name(3, 3) + name(4, 4),
    {'proxy_node': [1, 1], 'proxy_port': [2, 2], 'target_node': [3, 3], 'target_port': [4, 4]})
add('observe_proxy_broadcast', 2, INV, INV, MAX, name(1, 1) + name(2, 2) + name(0, 0) + name(0, 0),
    {'proxy_node': [1, 1], 'proxy_port': [2, 2], 'target_node': [0, 0], 'target_port': [0, 0]})
add('observe_proxy_ack_retry', 3, P, F, 2, struct.pack('<Q', MAX), {'last_seq': MAX})
add('observe_closure', 4, P, F, 5, struct.pack('<Q', 17), {'last_seq': 17})
add('merge_port', 5, P, INV, MAX, name(0xcccc, 0xdddd) + desc(D),
    {'new_port': [0xcccc, 0xdddd], 'descriptor': D})
add('read_ack_request', 6, P, F, 4, struct.pack('<Q', 10), {'seq': 10})
add('read_ack', 7, P, F, 9, struct.pack('<Q', 8), {'seq': 8})
add('update_previous_peer', 8, P, F, 6, name(0xeeee, 1) + name(0xffff, 2),
    {'node': [0xeeee, 1], 'port': [0xffff, 2]})
add('observe_proxy_direct_ext', 9, P, F, MAX, name(0x9999, 1) + name(0x8888, 2),
    {'target_node': [0x9999, 1], 'target_port': [0x8888, 2]})
add('peer_confirmed_ext', 10, P, F, MAX, b'', {})
add('port_arrived_ext', 11, P, F, MAX, b'', {})

# Expected sizes from the reference notes (section 1.3 / 5.8), typed by hand.
sizes = {'port_accepted': 48, 'observe_proxy_targeted': 112, 'observe_proxy_ack_retry': 56,
         'observe_closure': 56, 'merge_port': 160, 'read_ack_request': 56, 'read_ack': 56,
         'update_previous_peer': 80, 'observe_proxy_direct_ext': 80, 'peer_confirmed_ext': 48, 'port_arrived_ext': 48, 'user_message_no_ports': 64 + 3,
         'user_message_one_port': 64 + 112 + 2}
for v in vectors:
    if v['name'] in sizes:
        assert v['len'] == sizes[v['name']], v['name']

print(json.dumps({
    'description': 'hyperport ports wire layout version 0 (Chromium prev-peer layout), one vector per event type (types 9, 10 and 11 are the hyperport ObserveProxyDirect, PeerConfirmed and PortArrived extensions). Bytes built by gen_events.py from the documented byte table, not by the Rust codec.',
    'licence': 'CC0-1.0 (generated data)',
    'vectors': vectors}, indent=1))
