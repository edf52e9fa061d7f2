#!/usr/bin/env python3
"""Writes 8-transitions.toml: every "Transition out of X" bullet of RFC 8156 sections 8.4.2 to
8.12.2 (and the external commands), transcribed below from the RFC text. Each row: (id, section,
quoted text, role, given state, given partner (None: no connection), event, expected state,
extra `then` lines, reading (or None), then_reading lines)."""

ALL = ["NORMAL", "COMMUNICATIONS-INTERRUPTED", "PARTNER-DOWN", "POTENTIAL-CONFLICT", "RECOVER",
       "RECOVER-WAIT", "RECOVER-DONE", "RESOLUTION-INTERRUPTED", "CONFLICT-DONE"]
CASES = []


def up(p, since=-100):
    return f'[case.when]\nconnection = "up"\n[case.when.partner_state]\nstate = "{p}"\nsince = {since}'


def change(p, since=0, startup=False):
    s = f'[case.when.partner_state]\nstate = "{p}"\nsince = {since}'
    return s + ("\nstartup = true" if startup else "")


def add(cid, sec, text, role, mine, partner, event, to, extra=(), reading=None, then_reading=()):
    CASES.append((cid, sec, text, role, mine, partner, event, to, list(extra), reading, list(then_reading)))


def slug(s):
    return s.lower()


# §8.4.2 Transition out of PARTNER-DOWN
T = "If the partner is in NORMAL, COMMUNICATIONS-INTERRUPTED, PARTNER-DOWN, POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or CONFLICT-DONE state, then transition to POTENTIAL-CONFLICT state. If the partner is in RECOVER or RECOVER-WAIT state, then stay in PARTNER-DOWN state. If the partner is in RECOVER-DONE state, then transition to NORMAL state."
for p, to in [("NORMAL", "POTENTIAL-CONFLICT"), ("COMMUNICATIONS-INTERRUPTED", "POTENTIAL-CONFLICT"),
              ("PARTNER-DOWN", "POTENTIAL-CONFLICT"), ("POTENTIAL-CONFLICT", "POTENTIAL-CONFLICT"),
              ("RESOLUTION-INTERRUPTED", "POTENTIAL-CONFLICT"), ("CONFLICT-DONE", "POTENTIAL-CONFLICT"),
              ("RECOVER", "PARTNER-DOWN"), ("RECOVER-WAIT", "PARTNER-DOWN"), ("RECOVER-DONE", "NORMAL")]:
    if p == "CONFLICT-DONE":
        role = "secondary"  # only a primary can be in CONFLICT-DONE
    else:
        role = "primary"
    add(f"8.4.2-partner-down-partner-{slug(p)}", "§8.4.2", T, role, "PARTNER-DOWN", None, up(p), to)
add("8.4.2-partner-down-ignores-startup-flag", "§8.4.2",
    "If the partner is in STARTUP (the STARTUP flag is set in the STATE message), do not transition out of PARTNER-DOWN.",
    "primary", "PARTNER-DOWN", "RECOVER", change("NORMAL", startup=True), "PARTNER-DOWN")

# §8.5.2 Transition out of RECOVER
T = "If the other server is in POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or CONFLICT-DONE state when communications are re-established, then transition to POTENTIAL-CONFLICT state. If the other server is in any other state, then the server should request updates with UPDREQ or UPDREQALL."
for p in ALL:
    role = "secondary" if p == "CONFLICT-DONE" else "primary"
    if p in ("POTENTIAL-CONFLICT", "RESOLUTION-INTERRUPTED", "CONFLICT-DONE"):
        add(f"8.5.2-recover-partner-{slug(p)}", "§8.5.2", T, role, "RECOVER", None, up(p), "POTENTIAL-CONFLICT")
    else:
        add(f"8.5.2-recover-partner-{slug(p)}-requests-updates", "§8.5.2", T, role, "RECOVER", None, up(p), "RECOVER",
            ['[[case.then.sent]]', 'kind = "UPDREQ"'])
add("8.5.2-recover-upddone-goes-to-recover-wait", "§8.5.2",
    "When an UPDDONE message is received, transition into RECOVER-WAIT state.",
    "secondary", "RECOVER", "PARTNER-DOWN", '[case.when]\nmessage = "UPDDONE"', "RECOVER-WAIT")

# §8.6.2 Transition out of RECOVER-WAIT
add("8.6.2-recover-wait-timer-mclt-goes-to-recover-done", "§8.6.2",
    "Upon entry to RECOVER-WAIT state, the server MUST start a timer whose expiration is set to a time equal to the time the server went into RECOVER-WAIT (TIME-OF-FAILURE) plus the MCLT. When this timer expires, the server MUST transition into RECOVER-DONE state.",
    "secondary", "RECOVER-WAIT", "PARTNER-DOWN", '[case.when]\nat = 3700\ntimer = true', "RECOVER-DONE",
    ['[[case.then.sent]]', 'kind = "STATE"', 'state = "RECOVER-DONE"'])
add("8.6.2-recover-wait-before-mclt-stays", "§8.6.2",
    "... a timer whose expiration is set to ... plus the MCLT.", "secondary", "RECOVER-WAIT", "PARTNER-DOWN",
    '[case.when]\nat = 3000\ntimer = true', "RECOVER-WAIT")
add("8.6.2-recover-wait-communications-fail-no-effect", "§8.6.2",
    "If the server loses communications with its partner, this does not affect the timer.",
    "secondary", "RECOVER-WAIT", "PARTNER-DOWN", '[case.when]\nconnection = "lost"', "RECOVER-WAIT")

# §8.7.2 Transition out of RECOVER-DONE
T = "If the partner is in NORMAL or RECOVER-DONE state, then transition to NORMAL state. If the partner is in RECOVER or RECOVER-WAIT state, transition to COMMUNICATIONS-INTERRUPTED. If the partner is in POTENTIAL-CONFLICT state, then transition to POTENTIAL-CONFLICT state."
for p, to in [("NORMAL", "NORMAL"), ("RECOVER-DONE", "NORMAL"), ("RECOVER", "COMMUNICATIONS-INTERRUPTED"),
              ("RECOVER-WAIT", "COMMUNICATIONS-INTERRUPTED"), ("POTENTIAL-CONFLICT", "POTENTIAL-CONFLICT")]:
    add(f"8.7.2-recover-done-partner-{slug(p)}", "§8.7.2", T, "secondary", "RECOVER-DONE", None, up(p), to)
add("8.7.2-recover-done-communications-fail-stays", "§8.7.2",
    "If communications fails, stay in RECOVER-DONE state.", "secondary", "RECOVER-DONE", "PARTNER-DOWN",
    '[case.when]\nconnection = "lost"', "RECOVER-DONE")

# §8.8.2 Transition out of NORMAL
add("8.8.2-normal-external-command-partner-down", "§8.8.2",
    "If an external command is received by a server in NORMAL state informing it that its partner is down, then transition into PARTNER-DOWN state.",
    "primary", "NORMAL", "NORMAL", '[case.when]\ncommand = "partner-down"', "PARTNER-DOWN")
add("8.8.2-normal-communications-fail", "§8.8.2",
    "If communications fail with the partner, then transition into COMMUNICATIONS-INTERRUPTED state.",
    "primary", "NORMAL", "NORMAL", '[case.when]\nconnection = "lost"', "COMMUNICATIONS-INTERRUPTED")
add("8.8.2-normal-disconnect-received", "§8.8.2",
    "If a DISCONNECT message is received from the partner, then transition into COMMUNICATIONS-INTERRUPTED state.",
    "secondary", "NORMAL", "NORMAL", '[case.when]\nmessage = "DISCONNECT"', "COMMUNICATIONS-INTERRUPTED")
add("8.8.2-normal-partner-enters-partner-down", "§8.8.2",
    "If the partner has changed state from that expected, then transition to COMMUNICATIONS-INTERRUPTED state and take the appropriate transition from that state based on the partner's state.",
    "primary", "NORMAL", "NORMAL", '[case.when.partner_state]\nstate = "PARTNER-DOWN"', "POTENTIAL-CONFLICT")

# §8.9.2 Transition out of COMMUNICATIONS-INTERRUPTED
add("8.9.2-communications-interrupted-external-command-partner-down", "§8.9.2",
    "If an external command is received by a server in COMMUNICATIONS-INTERRUPTED state informing it that its partner is down, then transition into PARTNER-DOWN state.",
    "primary", "COMMUNICATIONS-INTERRUPTED", None, '[case.when]\ncommand = "partner-down"', "PARTNER-DOWN")
T = "If communications are restored with the other server, then: If the partner is in NORMAL or COMMUNICATIONS-INTERRUPTED state, then transition to NORMAL state. If the partner is in RECOVER state, stay in COMMUNICATIONS-INTERRUPTED state. If the partner is in RECOVER-DONE state, transition into NORMAL state. If the partner is in PARTNER-DOWN, POTENTIAL-CONFLICT, CONFLICT-DONE, or RESOLUTION-INTERRUPTED state, then transition into POTENTIAL-CONFLICT state."
for p, to in [("NORMAL", "NORMAL"), ("COMMUNICATIONS-INTERRUPTED", "NORMAL"), ("RECOVER", "COMMUNICATIONS-INTERRUPTED"),
              ("RECOVER-DONE", "NORMAL"), ("PARTNER-DOWN", "POTENTIAL-CONFLICT"),
              ("POTENTIAL-CONFLICT", "POTENTIAL-CONFLICT"), ("CONFLICT-DONE", "POTENTIAL-CONFLICT"),
              ("RESOLUTION-INTERRUPTED", "POTENTIAL-CONFLICT")]:
    role = "secondary" if p == "CONFLICT-DONE" else "primary"
    add(f"8.9.2-communications-interrupted-partner-{slug(p)}", "§8.9.2", T, role, "COMMUNICATIONS-INTERRUPTED",
        None, up(p), to)
add("8.9.2-communications-interrupted-auto-partner-down", "§8.9.2",
    "If the auto-partner-down capability is enabled and the time configured for auto-partner-down has expired, transition into PARTNER-DOWN state.",
    "primary", "COMMUNICATIONS-INTERRUPTED", None, '[case.when]\nat = 700\ntimer = true', "PARTNER-DOWN")
# Reading R12: a STATE with the STARTUP flag moves no one (the literal text gives the flag only to 8.4.2).
add("8.9.2-communications-interrupted-partner-normal-with-startup-flag", "§8.9.2",
    T, "primary", "COMMUNICATIONS-INTERRUPTED", None,
    '[case.when]\nconnection = "up"\n[case.when.partner_state]\nstate = "NORMAL"\nstartup = true', "NORMAL",
    reading="R12", then_reading=['state = "COMMUNICATIONS-INTERRUPTED"'])

# §8.10.2 Transition out of POTENTIAL-CONFLICT
add("8.10.2-potential-conflict-communications-fail", "§8.10.2",
    "If communications fails with the partner while in POTENTIAL-CONFLICT state, then transition to RESOLUTION-INTERRUPTED state.",
    "primary", "POTENTIAL-CONFLICT", "POTENTIAL-CONFLICT", '[case.when]\nconnection = "lost"', "RESOLUTION-INTERRUPTED")
add("8.10.2-potential-conflict-primary-upddone-goes-to-conflict-done", "§8.10.2",
    "If this server is the primary and it has received an UPDDONE message from the secondary ..., then transition into CONFLICT-DONE state.",
    "primary", "POTENTIAL-CONFLICT", "POTENTIAL-CONFLICT", '[case.when]\nmessage = "UPDDONE"', "CONFLICT-DONE")
add("8.10.2-potential-conflict-secondary-upddone-goes-to-normal", "§8.10.2",
    "If this server is the secondary and it has received an UPDDONE message from the primary ..., then transition into NORMAL state.",
    "secondary", "POTENTIAL-CONFLICT", "CONFLICT-DONE", '[case.when]\nmessage = "UPDDONE"', "NORMAL")
add("8.10.2-potential-conflict-secondary-sees-conflict-done-sends-updreq", "§8.10.2",
    "When a secondary server receives an indication that the primary server has made a transition from POTENTIAL-CONFLICT to CONFLICT-DONE state, it SHOULD send an UPDREQ message to the primary server.",
    "secondary", "POTENTIAL-CONFLICT", "POTENTIAL-CONFLICT", change("CONFLICT-DONE"), "POTENTIAL-CONFLICT",
    ['[[case.then.sent]]', 'kind = "UPDREQ"'])

# §8.11.2 Transition out of RESOLUTION-INTERRUPTED
add("8.11.2-resolution-interrupted-external-command-partner-down", "§8.11.2",
    "If an external command is received by a server in RESOLUTION-INTERRUPTED state informing it that its partner is down, then transition into PARTNER-DOWN state.",
    "primary", "RESOLUTION-INTERRUPTED", None, '[case.when]\ncommand = "partner-down"', "PARTNER-DOWN")
for p in ALL:
    role = "secondary" if p == "CONFLICT-DONE" else "primary"
    add(f"8.11.2-resolution-interrupted-partner-{slug(p)}", "§8.11.2",
        "If communications are restored with the partner, then transition into POTENTIAL-CONFLICT state.",
        role, "RESOLUTION-INTERRUPTED", None, up(p), "POTENTIAL-CONFLICT")

# §8.12.2 Transition out of CONFLICT-DONE
add("8.12.2-conflict-done-secondary-normal-goes-to-normal", "§8.12.2",
    "If the partner is in NORMAL state, then transition into NORMAL state.",
    "primary", "CONFLICT-DONE", "POTENTIAL-CONFLICT", change("NORMAL"), "NORMAL")


def emit(c):
    cid, sec, text, role, mine, partner, event, to, extra, reading, then_reading = c
    out = ["[[case]]", f'id = "{cid}"', f'rfc = "{sec}"', f"text = '''{text}'''"]
    if reading:
        out.append(f'reading = "{reading}"')
    out += ["[case.given]", f'role = "{role}"', f'state = "{mine}"', "since = -600", "mclt = 3600",
            "auto_partner_down = 600" if "auto-partner-down" in cid else ""]
    if mine == "PARTNER-DOWN":
        out.append("partner_down_entry = -600")
    if partner:
        out += [f'partner = "{partner}"', "partner_since = -600"]
    out.append(event)
    out += ["[case.then]", f'state = "{to}"'] + extra
    if reading:
        out += ["[case.then_reading]"] + then_reading
    return "\n".join(l for l in out if l) + "\n"


with open("8-transitions.toml", "w") as f:
    f.write('# Generated by transitions.py from the "Transition out of" bullets (do not edit by hand).\n'
            'title = "Every Transition out of X bullet of sections 8.4.2-8.12.2, with the external commands"\n'
            'sections = ["8.4.2", "8.5.2", "8.6.2", "8.7.2", "8.8.2", "8.9.2", "8.10.2", "8.11.2", "8.12.2"]\n\n')
    f.write("\n".join(emit(c) for c in CASES))
