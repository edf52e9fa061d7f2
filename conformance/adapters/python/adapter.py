#!/usr/bin/env python3
"""A conformance adapter in Python for the RFC 8156 failover suite.

Two jobs:

* a template for implementers: the harness (`failover conform --sut-cmd "python3 adapter.py"`)
  starts this program and writes one JSON request per line on its stdin; it answers one JSON
  line per request on its stdout (protocol version 1, conformance/README.md). Each request type
  and event type has its own handler below: to run the suite against your server, make the
  handlers drive your server instead of the backend, and build the observation from it.
* a test of the protocol itself: `cargo test` runs the whole corpus through this adapter and
  checks that it gets the same verdicts as the in-process adapter. Every request is checked
  against the protocol as documented before it is forwarded, and every observation before it is
  returned, so a harness or a README that drifts from the other fails loudly.

This adapter has no failover server of its own. It forwards each checked request to a backend
that speaks the same protocol: by default `failover sut-stdio` (our implementation); give
another command as arguments: `adapter.py path/to/failover sut-stdio`.

Standard library only (Python 3.8 or later).
"""

import json
import subprocess
import sys

PROTOCOL = 1
SERVERS = ("primary", "secondary")
EVENTS = {
    # event type: the fields it must carry (besides "type")
    "tick": (),
    "deliver": ("to",),
    "timers": ("server",),
    "partition": (),
    "heal": (),
    "crash": ("server", "lose_storage"),
    "restart": ("server",),
    "partner-down": ("server",),
    "reset-lease": ("server", "lease"),
    "client": ("server", "client", "op"),
    # RFC 8156 §9, traces tagged ddns: the DNS server answers the server's oldest DNS update
    # for the lease.
    "dns-answer": ("server", "lease"),
    # Design draft §12, traces tagged reservations: the operator cancels a reservation.
    "cancel-reservation": ("server", "lease"),
}
CLIENT_OPS = ("request", "renew", "rebind", "release", "decline")
# start.config: each field and the JSON type it must have (None: may be null).
CONFIG_FIELDS = {
    "mclt": int,
    "lifetime": int,
    "startup_time": int,
    "auto_partner_down": (int, type(None)),
    "addresses": list,
    "prefixes": list,
    "init": str,
    "backup_prefixes": list,
    "start_time": int,
}
OPTIONAL_CONFIG_FIELDS = {"dns": (dict, type(None)), "reservations": list}
TYPE_NAMES = {int: "an integer", str: "a string", list: "an array", dict: "an object",
              bool: "true or false", type(None): "null"}


def type_name(kind):
    if isinstance(kind, tuple):
        return " or ".join(type_name(k) for k in kind)
    return TYPE_NAMES.get(kind, str(kind))


class ProtocolError(Exception):
    """A request or an observation that does not follow the documented protocol."""


class Backend:
    """The server under test. Replace this class to test your own server."""

    def __init__(self, command):
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True, bufsize=1)
        except OSError as e:
            raise SystemExit(f"adapter.py: cannot start the backend {command}: {e}")
        self.command = command

    def call(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise ProtocolError(f"the backend {self.command} closed its output")
        return json.loads(line)


def is_a(value, kind):
    # JSON true/false are not numbers, though Python's bool is an int.
    if isinstance(value, bool) and kind is int:
        return False
    if isinstance(kind, tuple):
        return any(is_a(value, k) for k in kind)
    return isinstance(value, kind)


def need(obj, field, kind, where):
    if not isinstance(obj, dict):
        raise ProtocolError(f"{where}: expected a JSON object, got {json.dumps(obj)}")
    if field not in obj:
        raise ProtocolError(f"{where}: missing field {field!r}")
    if kind is not None and not is_a(obj[field], kind):
        raise ProtocolError(f"{where}: field {field!r} is {json.dumps(obj[field])}, "
                            f"not {type_name(kind)}")
    return obj[field]


def each(obj, field, where):
    """The items of an optional array field (none when absent)."""
    if not isinstance(obj, dict) or field not in obj or obj[field] is None:
        return []
    return need(obj, field, list, where)


def check_start(req):
    config = need(req, "config", dict, "start")
    for f, kind in CONFIG_FIELDS.items():
        need(config, f, kind, "start.config")
    for f in config:
        if f not in CONFIG_FIELDS and f not in OPTIONAL_CONFIG_FIELDS:
            raise ProtocolError(f"start.config: unknown field {f!r}")
    for f, kind in OPTIONAL_CONFIG_FIELDS.items():
        if f in config:
            need(config, f, kind, "start.config")
    for f in ("addresses", "prefixes", "backup_prefixes"):
        for k, x in enumerate(config[f]):
            if not isinstance(x, str):
                raise ProtocolError(f"start.config: field '{f}[{k}]' is {json.dumps(x)}, "
                                    "not a string")
    if config["init"] not in ("normal", "fresh"):
        raise ProtocolError(f"start.config: field 'init' is {config['init']!r}, "
                            "not 'normal' or 'fresh'")
    for r in each(config, "reservations", "start.config"):
        need(r, "lease", str, "start.config.reservations[]")
        need(r, "client", str, "start.config.reservations[]")
    dns = config.get("dns")
    if dns is not None:
        need(dns, "zone", str, "start.config.dns")
        labels = need(dns, "labels", list, "start.config.dns")
        if len(labels) != 2 or not all(isinstance(x, str) for x in labels):
            raise ProtocolError(f"start.config.dns.labels is {labels!r}, not two strings")


def check_event(req):
    need(req, "time", int, "event")
    ev = need(req, "event", dict, "event")
    kind = need(ev, "type", str, "event.event")
    if kind not in EVENTS:
        raise ProtocolError(f"unknown event type {kind!r}")
    for f in EVENTS[kind]:
        need(ev, f, None, f"event {kind}")
    for f in ("to", "server"):
        if f in ev and ev[f] not in SERVERS:
            raise ProtocolError(f"event {kind}: {f} is {ev[f]!r}")
    if kind == "client":
        if ev["op"] not in CLIENT_OPS:
            raise ProtocolError(f"client op {ev['op']!r}")
        if ev["op"] == "request" and ev.get("kind") not in ("address", "prefix"):
            raise ProtocolError("client request without kind address/prefix")


def check_observation(obs):
    servers = need(obs, "servers", list, "observation")
    if len(servers) != 2:
        raise ProtocolError(f"observation: {len(servers)} servers, not 2")
    for s in servers:
        need(s, "up", bool, "observation.servers[]")
        for lease in each(s, "leases", "observation.servers[]"):
            need(lease, "lease", str, "observation lease")
            need(lease, "status", str, "observation lease")
            for op in each(lease, "dns_owed", "observation lease"):
                if need(op, "op", str, "observation lease dns_owed[]") not in ("add", "remove"):
                    raise ProtocolError(f"dns_owed op is {op['op']!r}")
                need(op, "fqdn", str, "observation lease dns_owed[]")
    for record in each(obs, "dns", "observation"):
        need(record, "lease", str, "observation.dns[]")
        need(record, "fqdn", str, "observation.dns[]")
    reply = obs.get("reply")
    if reply is not None and need(reply, "type", str, "observation.reply") not in (
            "granted", "done", "refused"):
        raise ProtocolError(f"observation.reply.type is {reply['type']!r}")
    for m in each(obs, "sent", "observation"):
        if need(m, "from", str, "observation.sent[]") not in SERVERS:
            raise ProtocolError(f"observation.sent[].from is {m['from']!r}")
        need(m, "kind", str, "observation.sent[]")


def handle(backend, req):
    kind = need(req, "type", str, "request")
    if kind == "hello":
        if req.get("protocol") != PROTOCOL:
            raise ProtocolError(f"this adapter speaks protocol {PROTOCOL}")
        answer = backend.call(req)
        need(answer, "name", str, "hello answer")
        return {"name": f"python adapter over {answer['name']}", "protocol": PROTOCOL}
    if kind == "start":
        check_start(req)
    elif kind == "event":
        check_event(req)
    else:
        raise ProtocolError(f"unknown request type {kind!r}")
    answer = backend.call(req)
    if "error" in answer:
        return answer
    check_observation(need(answer, "observation", dict, f"answer to {kind}"))
    return answer


def main():
    command = sys.argv[1:] or ["failover", "sut-stdio"]
    backend = Backend(command)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ProtocolError(f"a request is a JSON object with a \"type\", "
                                    f"got {json.dumps(req)}")
            answer = handle(backend, req)
        except (ProtocolError, json.JSONDecodeError) as e:
            answer = {"error": f"adapter.py: {e}"}
        except Exception as e:  # a bug of this adapter: said, never a traceback
            answer = {"error": f"adapter.py: internal error on this request: "
                               f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
