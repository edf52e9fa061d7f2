#!/usr/bin/env python3
"""Writes 7.5.4-figure4.toml: every cell of RFC 8156 Figure 4 (section 7.5.4), transcribed
below from the RFC text, with an accepting and a rejecting case, and the +/-5 s edge of
section 7.5.1. Run it from this folder after changing the table; the TOML is what the runner
reads. Deviations by a reading are added in READINGS (case id -> (reading, then_reading))."""

ROWS = ["ACTIVE", "EXPIRED", "RELEASED", "FREE", "RESET", "ABANDONED"]
COLS = ["ACTIVE", "EXPIRED", "RELEASED", "FREE", "ABANDONED"]
# Figure 4, row = binding-status in the receiving server's database, column = received.
TABLE = {
    "ACTIVE":    ["accept(3)", "time(1)", "accept", "time(1)", "accept"],
    "EXPIRED":   ["accept"] * 5,
    "RELEASED":  ["accept"] * 5,
    "FREE":      ["accept"] * 5,
    "RESET":     ["time(2)", "accept", "accept", "accept", "accept"],
    "ABANDONED": ["accept"] * 5,
}
RULE_TEXT = {
    "accept": "accept: If the time value in the OPTION_CLIENT_DATA option or OPTION_IAPREFIX option is later than the time value in the server's binding database, accept it, else reject it.",
    "time(1)": "time(1): If the current time is later than the receiving server's state-expiration-time, accept it, else reject it.",
    "time(2)": "time(2): If the OPTION_CLT_TIME value (if it appears) in the OPTION_CLIENT_DATA is later than the start-time-of-state in the receiving server's binding, accept it, else reject it.",
    "accept(3)": "accept(3): If the clients in an OPTION_CLIENT_DATA option and in a receiving server's binding differ, then if time(2) or the receiving server is a secondary accept it, else reject it with a status-code of \"AddressInUse\".  If the clients match, accept the update.",
}
ADDR = "2001:db8::2"
L = -1000  # the time of the local record (its CLT for ACTIVE, else start-time-of-state)

# Cases where the project's reading changes the outcome: id -> (reading, then_reading lines).
# R11 (docs/readings.md): with the same client an update older than our record is rejected
# (the client's expiry is that of its latest REPLY); a tie between a record that binds a client
# and a free one goes to the binding (across turns of the lease).
R11_TIE = ["reply = \"accept\"", "[[case.then_reading.stored]]", f'address = "{ADDR}"', 'status = "ACTIVE"']
READINGS = {
    "7.5.4-figure4-active-vs-active-same-client-older-accepted": (
        "R11", ["reply = \"OutdatedBindingInformation\"", "[[case.then_reading.stored]]",
                f'address = "{ADDR}"', 'status = "ACTIVE"', "clt = -1000"]),
    "7.5.1-skew-edge-free-vs-active-5s-later-is-the-same-time-rejected": ("R11", R11_TIE),
    "7.5.1-skew-edge-free-vs-active-5s-earlier-is-the-same-time-rejected": ("R11", R11_TIE),
}


def slug(s):
    return s.lower()


def local(row, expires=None, client="c1"):
    lines = [f'address = "{ADDR}"', f'status = "{row if row != "FREE" else "FREE"}"']
    if row in ("ACTIVE", "EXPIRED", "RELEASED"):
        lines.append(f'client = "{client}"')
    lines.append(f"start = {L}")
    if row == "ACTIVE":
        lines.append(f"clt = {L}")
        lines.append(f"expires = {expires if expires is not None else 3000}")
    return "[[case.given.lease]]\n" + "\n".join(lines) + "\n"


def update(col, t, client="c2"):
    lines = [f'address = "{ADDR}"', f'status = "{col}"']
    if col in ("ACTIVE", "EXPIRED", "RELEASED"):
        lines.append(f'client = "{client}"')
        lines.append(f"clt = {t}")
    lines.append(f"start = {t}")
    if col == "ACTIVE":
        lines.append("expires = 3600")
    return "[case.when.bndupd]\n" + "\n".join(lines) + "\n"


def case(cid, role, row, col, rule, given_extra, upd, verdict, stored, note):
    out = ["[[case]]", f'id = "{cid}"', f'rfc = "§7.5.4 Figure 4 ({row} x {col}: {rule})"',
           f"text = '''{RULE_TEXT[rule]}'''"]
    if note:
        out.append(f"# {note}")
    r = READINGS.get(cid)
    if r:
        out.append(f'reading = "{r[0]}"')
    out += ["[case.given]", f'role = "{role}"', 'state = "NORMAL"', 'partner = "NORMAL"', "mclt = 3600"]
    out.append(given_extra.rstrip())
    out.append(upd.rstrip())
    out += ["[case.then]", f'reply = "{verdict}"',
            "[[case.then.stored]]", f'address = "{ADDR}"', f'status = "{stored}"']
    if r:
        out += ["[case.then_reading]"] + r[1]
    return "\n".join(out) + "\n"


def main():
    cases = []
    for row in ROWS:
        for col, rule in zip(COLS, TABLE[row]):
            base = f"7.5.4-figure4-{slug(row)}-vs-{slug(col)}"
            if rule == "accept":
                cases.append(case(f"{base}-later-accepted", "secondary", row, col, rule, local(row),
                                  update(col, L + 100), "accept", col, "the update is 100 s later than the record"))
                cases.append(case(f"{base}-earlier-rejected", "secondary", row, col, rule, local(row),
                                  update(col, L - 100), "OutdatedBindingInformation", row, "the update is 100 s earlier"))
            elif rule == "time(1)":
                cases.append(case(f"{base}-local-expired-accepted", "secondary", row, col, rule,
                                  local(row, expires=-100), update(col, L + 100), "accept", col,
                                  "our ACTIVE record's state-expiration-time passed 100 s ago"))
                cases.append(case(f"{base}-local-unexpired-rejected", "secondary", row, col, rule,
                                  local(row, expires=3000), update(col, L + 100), "OutdatedBindingInformation", row,
                                  "our ACTIVE record runs for 3000 s more"))
            elif rule == "time(2)":
                cases.append(case(f"{base}-clt-later-accepted", "secondary", row, col, rule, local(row),
                                  update(col, L + 100), "accept", col, "the update's CLT is after our start-time-of-state"))
                cases.append(case(f"{base}-clt-earlier-rejected", "secondary", row, col, rule, local(row),
                                  update(col, L - 100), "OutdatedBindingInformation", row, "the update's CLT is before it"))
            elif rule == "accept(3)":
                cases.append(case(f"{base}-other-client-at-secondary-accepted", "secondary", row, col, rule, local(row),
                                  update(col, L - 100), "accept", col,
                                  "another client, older: the secondary accepts whatever the time"))
                cases.append(case(f"{base}-other-client-at-primary-clt-later-accepted", "primary", row, col, rule,
                                  local(row), update(col, L + 100), "accept", col,
                                  "another client, CLT after our start-time-of-state: time(2) holds"))
                cases.append(case(f"{base}-other-client-at-primary-clt-earlier-address-in-use", "primary", row, col, rule,
                                  local(row), update(col, L - 100), "AddressInUse", row,
                                  "another client, CLT before our start-time-of-state"))
                cases.append(case(f"{base}-same-client-newer-accepted", "primary", row, col, rule, local(row),
                                  update(col, L + 100, client="c1"), "accept", col, "the same client, renewed"))
                cases.append(case(f"{base}-same-client-older-accepted", "primary", row, col, rule, local(row),
                                  update(col, L - 100, client="c1"), "accept", col,
                                  "the same client, an older update: the literal text accepts"))
    # The +/-5 s edge of section 7.5.1 on the plain accept rule (FREE record, ACTIVE update).
    edge_text = "§7.5.1: Any time that ends up being +/- 5 seconds of another time SHOULD be considered to be representing the same time"
    for d, verdict, stored, name in [(5, "OutdatedBindingInformation", "FREE", "5s-later-is-the-same-time-rejected"),
                                     (6, "accept", "ACTIVE", "6s-later-is-later-accepted"),
                                     (-5, "OutdatedBindingInformation", "FREE", "5s-earlier-is-the-same-time-rejected")]:
        c = case(f"7.5.1-skew-edge-free-vs-active-{name}", "secondary", "FREE", "ACTIVE", "accept", local("FREE"),
                 update("ACTIVE", L + d), verdict, stored, edge_text)
        cases.append(c.replace('rfc = "§7.5.4 Figure 4', 'rfc = "§7.5.1 and §7.5.4 Figure 4'))
    for d, verdict, stored, name in [(5, "OutdatedBindingInformation", "RESET", "5s-later-is-the-same-time-rejected"),
                                     (6, "accept", "ABANDONED", "6s-later-is-later-accepted")]:
        c = case(f"7.5.1-skew-edge-reset-vs-abandoned-{name}", "secondary", "RESET", "ABANDONED", "accept",
                 local("RESET"), update("ABANDONED", L + d), verdict, stored, edge_text)
        cases.append(c.replace('rfc = "§7.5.4 Figure 4', 'rfc = "§7.5.1 and §7.5.4 Figure 4'))
    hdr = ('# Generated by figure4.py from the RFC 8156 Figure 4 table (do not edit by hand).\n'
           'title = "Figure 4: accepting or rejecting a BNDUPD, every cell, and the 5 s edge"\n'
           'sections = ["7.5.1", "7.5.4"]\n\n')
    with open("7.5.4-figure4.toml", "w") as f:
        f.write(hdr + "\n".join(cases))


main()
