#!/usr/bin/env python3
"""quicsteer-cid (app/quicsteer-cid), run as the operator runs it.

- draft-ietf-quic-load-balancers-21 vectors (the ones tests/unit/
  test_quic_lb.c checks: plaintext, single-pass, four-pass), encoded from
  server ID and nonce and decoded back, with node and worker split as the
  server splits them;
- random configurations (every config id, several lengths, keyed or not,
  length self-description on or off): encode --worker then decode gives
  this node and the worker back; the CID's length and first octet are the
  configuration's; random nonces differ; a given nonce comes back;
- --json is one JSON object with the right keys and types;
- a config file gives what the options give, options override the file;
- bad input: exit 2 and one line on stderr naming the problem; a CID of
  another configuration: exit 1 saying why; never a crash;
- nft-map: the map-only text is exactly the documented shape; the --table
  rules carry the configuration's values; `nft -c -f` accepts IPv4 and
  IPv6, map-only (inside a table) and --table, at several key widths, and
  a --table file loads twice (it replaces itself) with the nodes in its map.
  That part runs in a throwaway network namespace (qs-cidtest-<pid>-srv,
  always deleted) and is skipped, saying why, without root, ip or nft.

QUICSTEER_CID names the tool (meson sets it). QS_CID_SEED reproduces a run.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOOL = os.environ.get("QUICSTEER_CID", "")
TIMEOUT = 30
EXIT_NOT_OURS, EXIT_USAGE = 1, 2

VECTOR_KEY = "8f95f09245765f80256934e50c66207f"
EXAMPLE_KEY = "fdf726a9893ec05c0632d3956680baf0"
# (config_id, server ID, nonce, key, CID, mode): draft-21 appendix B and
# section 5.4.2, as tests/unit/test_quic_lb.c reads them (its errata notes
# say why row 2 and the cr_bits-3 row are what they are)
VECTORS = [
    (0, "c4605e", "4504cc4f", None, "07c4605e4504cc4f", "plaintext"),
    (1, "350d28b420", "03487d970b", None, "2a350d28b42003487d970b", "plaintext"),
    (0, "ed793a", "ee080dbf", VECTOR_KEY, "0720b1d07b359d3c", "four-pass"),
    (1, "ed793a51d49b8f5fab65", "ee080dbf48", VECTOR_KEY,
     "2fcc381bc74cb4fbad2823a3d1f8fed2", "four-pass"),
    (2, "ed793a51d49b8f5f", "ee080dbf48c0d1e5", VECTOR_KEY,
     "504dd2d05a7b0de9b2b9907afb5ecf8cc3", "single-pass"),
    (0, "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d", VECTOR_KEY,
     "125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc", "four-pass"),
    (3, "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d", VECTOR_KEY,
     "725779c9cc86beb3a3a4a3ca96fce4bfe0cdbc", "four-pass"),
    (0, "31441a", "9c69c275", EXAMPLE_KEY, "0767947d29be054a", "four-pass"),
]

# the map-only output for three IPv4 nodes and the default configuration,
# as the fleet rig reads it
MAP_ONLY_EXAMPLE = """\
# quicsteer-cid nft-map: QUIC-LB config 0, plaintext, server ID 2 bytes (node 1, worker 1)
# short header: ip daddr set @th,80,8 map @quicsteer_nodes
# Handshake (DCID at its long-header offset): ip daddr set @th,120,8 map @quicsteer_nodes
map quicsteer_nodes {
\ttypeof @th,80,8 : ip daddr
\telements = { 0x01 : 198.18.11.1, 0x02 : 198.18.12.1, 0x03 : 198.18.13.1 }
}
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


def run(*args, check_rc=None):
    """Runs the tool; returns (rc, stdout, stderr)."""
    proc = subprocess.run([TOOL, *map(str, args)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    if check_rc is not None and proc.returncode != check_rc:
        check(False, f"{' '.join(map(str, args))}: exit {proc.returncode}, "
                     f"wanted {check_rc}; stderr: {proc.stderr.strip()}")
    # ASan, UBSan and LSan report on stderr: a clean run has none of it
    check("Sanitizer" not in proc.stderr and "runtime error" not in proc.stderr,
          f"{' '.join(map(str, args))}: sanitizer report:\n{proc.stderr}")
    return proc.returncode, proc.stdout, proc.stderr


def lb_args(config_id=0, sid_len=2, nonce_len=8, key=None, node_id=0,
            sdl=True):
    return ["--config-id", config_id, "--server-id-len", sid_len,
            "--nonce-len", nonce_len, "--key", key or "",
            "--node-id", node_id, "--self-describing-length",
            "on" if sdl else "off"]


def decode_json(args, cid):
    rc, out, err = run(*args, "decode", cid, "--json", check_rc=0)
    if rc != 0:
        return None
    lines = out.splitlines()
    check(len(lines) == 1, f"decode --json {cid}: {len(lines)} lines, not 1")
    try:
        obj = json.loads(out)
    except ValueError as e:
        check(False, f"decode --json {cid}: not JSON ({e}): {out!r}")
        return None
    check(isinstance(obj, dict) and sorted(obj) ==
          sorted(["config_id", "server_id", "node", "worker", "nonce"]),
          f"decode --json {cid}: keys {sorted(obj) if isinstance(obj, dict) else obj}")
    for k, t in (("config_id", int), ("node", int), ("worker", int),
                 ("server_id", str), ("nonce", str)):
        check(type(obj.get(k)) is t,
              f"decode --json {cid}: {k} is {type(obj.get(k)).__name__}, not {t.__name__}")
    for k in ("server_id", "nonce"):
        check(isinstance(obj.get(k), str) and
              re.fullmatch(r"([0-9a-f]{2})+", obj[k]) is not None,
              f"decode --json {cid}: {k} {obj.get(k)!r} is not lowercase hex")
    return obj


def test_vectors():
    for config_id, sid, nonce, key, cid, mode in VECTORS:
        args = lb_args(config_id, len(sid) // 2, len(nonce) // 2, key)
        what = f"vector {mode} config {config_id} sid {sid}"
        rc, out, _ = run(*args, "encode", "--server-id", sid, "--nonce", nonce,
                         check_rc=0)
        check(out == cid + "\n", f"{what}: encode gave {out.strip()!r}, not {cid}")
        # uppercase in, the same out
        rc, out, _ = run(*args, "encode", "--server-id", sid.upper(),
                         "--nonce", nonce.upper(), check_rc=0)
        check(out == cid + "\n", f"{what}: encode (uppercase) gave {out.strip()!r}")
        obj = decode_json(args, cid)
        if obj is None:
            continue
        sid_b = bytes.fromhex(sid)
        want = {"config_id": config_id, "server_id": sid, "nonce": nonce,
                "node": int.from_bytes(sid_b[:-1], "big"), "worker": sid_b[-1]}
        check(obj == want, f"{what}: decode gave {obj}, wanted {want}")
        # the text form says the same
        rc, out, _ = run(*args, "decode", cid, check_rc=0)
        fields = dict(line.split(": ", 1) for line in out.splitlines())
        check(fields.get("config_id") == str(config_id) and
              fields.get("server_id") == sid and fields.get("nonce") == nonce and
              fields.get("node", "").split(" ")[0] == str(want["node"]) and
              fields.get("worker") == str(want["worker"]),
              f"{what}: decode text {fields}")


def random_config(rng, config_id, keyed=None):
    sid_len = rng.choice([1, 2, 2, 3, 4, 6, 8, 9, 12, 15])
    nonce_len = rng.randint(4, 19 - sid_len)
    if keyed is None:
        keyed = rng.random() < 0.5
    key = rng.randbytes(16).hex() if keyed else None
    node_len = sid_len - 1
    node_id = rng.getrandbits(min(64, 8 * node_len)) if node_len else 0
    return dict(config_id=config_id, sid_len=sid_len, nonce_len=nonce_len,
                key=key, node_id=node_id, sdl=rng.random() < 0.6)


def test_round_trips(rng):
    """Every config id, plaintext and keyed, random lengths and node."""
    for config_id in range(7):
        for keyed in (False, True):
            c = random_config(rng, config_id, keyed)
            args = lb_args(**c)
            what = f"config {c}"
            node_len = c["sid_len"] - 1
            cid_len = 1 + c["sid_len"] + c["nonce_len"]
            node = c["node_id"].to_bytes(node_len, "big") if node_len else b""
            seen = set()
            for worker in (rng.choice((0, 255)), rng.randint(1, 254)):
                rc, out, _ = run(*args, "encode", "--worker", worker, check_rc=0)
                cid = out.strip()
                if not check(re.fullmatch(r"[0-9a-f]+", cid) is not None and
                             len(cid) == 2 * cid_len,
                             f"{what} worker {worker}: CID {cid!r} is not "
                             f"{cid_len} bytes of lowercase hex"):
                    continue
                first = int(cid[:2], 16)
                check(first >> 5 == config_id,
                      f"{what}: CID {cid} first octet names config {first >> 5}")
                if c["sdl"]:
                    check(first & 0x1f == cid_len - 1,
                          f"{what}: CID {cid} self-describes {first & 0x1f}")
                if c["key"] is None:
                    check(cid[2:2 + 2 * c["sid_len"]] == (node + bytes([worker])).hex(),
                          f"{what}: plaintext CID {cid} does not show node "
                          f"{node.hex()} worker {worker}")
                obj = decode_json(args, cid)
                if obj is not None:
                    seen.add(obj["nonce"])
                    check(obj["node"] == c["node_id"] and obj["worker"] == worker and
                          obj["config_id"] == config_id and
                          obj["server_id"] == (node + bytes([worker])).hex() and
                          len(obj["nonce"]) == 2 * c["nonce_len"],
                          f"{what} worker {worker}: CID {cid} decodes to {obj}")
            check(len(seen) == 2, f"{what}: random nonces repeat: {seen}")
            # a given nonce comes back, and the output is reproducible
            worker = rng.randint(0, 255)
            nonce = rng.randbytes(c["nonce_len"]).hex()
            outs = [run(*args, "encode", "--worker", worker, "--nonce", nonce,
                        check_rc=0)[1] for _ in range(2)]
            check(outs[0] == outs[1] and outs[0] != "",
                  f"{what}: --nonce given, two encodes differ: {outs}")
            if not c["sdl"] and outs[0]:
                check(int(outs[0][:2], 16) & 0x1f == 0,
                      f"{what}: --nonce given, random bits not 0: {outs[0]}")
            obj = decode_json(args, outs[0].strip())
            if obj is not None:
                check(obj["nonce"] == nonce and obj["worker"] == worker and
                      obj["node"] == c["node_id"],
                      f"{what}: nonce {nonce} worker {worker} came back as {obj}")


def test_config_file(tmp):
    key = "00112233445566778899aabbccddeeff"
    path = os.path.join(tmp, "node.ini")
    with open(path, "w") as f:
        # a whole server configuration: the tool reads [quic_lb] only
        f.write("[listen]\naddr = 198.18.0.1\nport = 443\n\n"
                "[dataplane]\ncid_format = quic-lb\n\n"
                "[quic_lb]\nconfig_id = 4\nserver_id_len = 3\nnonce_len = 6\n"
                f"node_id = 0x0203\nkey = {key}\nself_describing_length = off\n")
    opts = lb_args(4, 3, 6, key, 0x0203, sdl=False)
    nonce = "a1b2c3d4e5f6"
    by_file = run("--config", path, "encode", "--worker", 17, "--nonce", nonce,
                  check_rc=0)[1]
    by_opts = run(*opts, "encode", "--worker", 17, "--nonce", nonce, check_rc=0)[1]
    check(by_file == by_opts and by_file.strip() != "",
          f"config file: encode {by_file!r}, options {by_opts!r}")
    cid = by_file.strip()
    check(len(cid) == 2 * 10 and int(cid[:2], 16) == 4 << 5,
          f"config file: CID {cid} is not config 4, 10 bytes, low bits 0")
    want = {"config_id": 4, "server_id": "020311", "node": 0x0203,
            "worker": 17, "nonce": nonce}
    for args in (["--config", path], opts):
        obj = decode_json(args, cid)
        check(obj == want, f"config file: decode {args[:2]}: {obj}")
    # the options override the file, in whichever order they come
    obj = decode_json(["--node-id", 9, "--config", path], run(
        "--config", path, "--node-id", 9, "encode", "--worker", 3,
        check_rc=0)[1].strip())
    check(obj is not None and obj["node"] == 9 and obj["worker"] == 3,
          f"config file + --node-id 9: {obj}")
    # the example configuration: the server's defaults
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                           "..", "config", "quicsteer.ini")
    if os.path.exists(example):
        a = run("--config", example, "encode", "--worker", 1, "--nonce",
                "0011223344556677", check_rc=0)[1]
        b = run("encode", "--worker", 1, "--nonce", "0011223344556677",
                check_rc=0)[1]
        check(a == b == "0a00010011223344556677\n",
              f"example config and defaults: {a!r} {b!r}")


def expect_usage_error(args, needles, what=None):
    rc, out, err = run(*args)
    what = what or " ".join(map(str, args))
    lines = err.splitlines()
    ok = check(rc == EXIT_USAGE, f"{what}: exit {rc}, wanted {EXIT_USAGE}; "
                                 f"stderr {err.strip()!r}")
    ok &= check(out == "", f"{what}: printed {out!r} on the way to an error")
    ok &= check(len(lines) == 1 and lines[0].startswith("quicsteer-cid: "),
                f"{what}: stderr is not one 'quicsteer-cid: ' line: {err!r}")
    for n in needles:
        ok &= check(n in err, f"{what}: stderr does not name {n!r}: {err.strip()!r}")
    return ok


def test_bad_input(tmp):
    sid, nonce = "0102", "0011223344556677"
    bad = [
        (["encode", "--server-id", "01g2"], ["--server-id", "not hex", "'g'"]),
        (["encode", "--server-id", "010"], ["--server-id", "odd number"]),
        (["encode", "--server-id", ""], ["--server-id", "empty"]),
        (["encode", "--server-id", "010203"], ["--server-id", "3 bytes", "server_id_len is 2"]),
        (["encode", "--server-id", sid, "--nonce", "0011"], ["--nonce", "2 bytes", "nonce_len is 8"]),
        (["encode", "--server-id", sid, "--nonce", "00112233445566zz"], ["--nonce", "not hex"]),
        (["encode", "--worker", "256"], ["--worker", "'256'", "0 to 255"]),
        (["encode", "--worker", "-1"], ["--worker", "'-1'"]),
        (["encode", "--worker", "x"], ["--worker", "'x'"]),
        (["encode"], ["--server-id HEX or --worker N"]),
        (["encode", "--worker", "1", "--server-id", sid], ["--server-id HEX or --worker N"]),
        (["encode", "--worker"], ["'--worker' needs a value"]),
        (["--node-id", "256", "encode", "--worker", "1"], ["[quic_lb] node_id", "256", "does not fit"]),
        (["--server-id-len", "1", "--node-id", "1", "encode", "--worker", "1"], ["[quic_lb] node_id"]),
        (["--node-id", "-1", "encode", "--worker", "1"], ["[quic_lb] node_id"]),
        (["--key", "0011", "encode", "--worker", "1"], ["[quic_lb] key", "32 hex digits"]),
        (["--key", "zz" * 16, "encode", "--worker", "1"], ["[quic_lb] key"]),
        (["--config-id", "7", "encode", "--worker", "1"], ["[quic_lb] config_id"]),
        (["--server-id-len", "16", "encode", "--worker", "1"], ["[quic_lb] server_id_len"]),
        (["--server-id-len", "0", "encode", "--worker", "1"], ["[quic_lb] server_id_len"]),
        (["--nonce-len", "3", "encode", "--worker", "1"], ["[quic_lb] nonce_len"]),
        (["--server-id-len", "10", "--nonce-len", "10", "encode", "--worker", "1"], ["[quic_lb]", "over 19"]),
        (["--self-describing-length", "maybe", "encode", "--worker", "1"], ["[quic_lb] self_describing_length", "'maybe'"]),
        (["frob"], ["unknown command 'frob'"]),
        ([], ["no command"]),
        (["--frob", "encode", "--worker", "1"], ["unknown option '--frob'"]),
        (["-x", "encode", "--worker", "1"], ["unknown option '-x'"]),
        (["decode"], ["which CID"]),
        (["decode", "0x07c4"], ["CID", "not hex"]),
        (["decode", "07c"], ["CID", "odd number"]),
        (["decode", ""], ["CID", "empty"]),
        (["decode", "07c4605e4504cc4f", "more"], ["unexpected argument 'more'"]),
        (["encode", "--worker", "1", "--json"], ["--json is an option of decode, not of encode"]),
        (["nft-map", "--node", "1=198.18.0.1", "--worker", "1"], ["--worker is an option of encode"]),
        (["--config", os.path.join(tmp, "missing.ini"), "encode", "--worker", "1"],
         [os.path.join(tmp, "missing.ini"), "No such file"]),
        # nft-map
        (["--key", VECTOR_KEY, "nft-map", "--node", "1=198.18.0.1"], ["key", "encrypted", "plaintext"]),
        (["--server-id-len", "1", "nft-map", "--node", "0=198.18.0.1"], ["server_id_len 1", "no byte for the node"]),
        (["nft-map"], ["--node ID=ADDR"]),
        (["nft-map", "--node", "1"], ["--node '1'", "ID=ADDR"]),
        (["nft-map", "--node", "x=198.18.0.1"], ["'x' is not a node id"]),
        (["nft-map", "--node", "256=198.18.0.1"], ["node id 256 does not fit", "1 byte"]),
        (["--server-id-len", "3", "nft-map", "--node", "65536=198.18.0.1"], ["node id 65536 does not fit", "2 bytes"]),
        (["nft-map", "--node", "1=198.18.0"], ["'198.18.0' is not an IPv4 or IPv6 address"]),
        (["nft-map", "--node", "1=198.18.0.1", "--node", "1=198.18.0.2"], ["node id 1 given twice"]),
        (["nft-map", "--node", "1=198.18.0.1", "--node", "2=2001:db8::2"], ["mix IPv4 and IPv6"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t"], ["--table NAME and --service ADDR:PORT go together"]),
        (["nft-map", "--node", "1=198.18.0.1", "--service", "198.18.0.9:443"], ["go together"]),
        (["nft-map", "--node", "1=198.18.0.1", "--in-service", "1"], ["--in-service needs --table"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "198.18.0.9"], ["--service", "ADDR:PORT"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "198.18.0.9:0"], ["--service", "port"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "198.18.0.9:65536"], ["--service", "port"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "2001:db8::9:443"], ["[ADDR]:PORT"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "[2001:db8::9]:443"], ["the nodes are IPv4"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "198.18.0.9:443",
          "--in-service", "2"], ["--in-service", "node 2 is not one of the --node"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "198.18.0.9:443",
          "--in-service", "1,1"], ["--in-service", "node 1 given twice"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t", "--service", "198.18.0.9:443",
          "--in-service", ","], ["--in-service", "no node id"]),
        (["nft-map", "--node", "1=198.18.0.1", "--table", "t; flush ruleset", "--service",
          "198.18.0.9:443"], ["--table 't; flush ruleset'"]),
        (["nft-map", "--node", "1=198.18.0.1", "--map", "9x"], ["--map '9x'"]),
    ]
    for args, needles in bad:
        expect_usage_error(args, needles)
    # a bad config file names the file, [quic_lb] and the key, as the server does
    for text, needles in (
            ("[quic_lb]\nkey = 0011\n", ["[quic_lb] key", "32 hex digits"]),
            ("[quic_lb]\nnode_id = 256\n", ["[quic_lb] node_id", "does not fit"]),
            ("[quic_lb]\nconfig_id = 9\n", ["[quic_lb] config_id"]),
            ("[quic_lb]\nnonce_len 8\n", ["line 2"]),
            ("[quic_lb]\nbogus = 1\n", ["[quic_lb] bogus", "unknown key"])):
        path = os.path.join(tmp, f"bad{len(failures)}-{abs(hash(text))}.ini")
        with open(path, "w") as f:
            f.write(text)
        expect_usage_error(["--config", path, "encode", "--worker", "1"],
                           [path, *needles], f"config file {text!r}")


def test_not_ours():
    """CIDs of another configuration: exit 1, the reason named."""
    cases = [
        ([], "07c4605e4504cc4f", ["8 bytes", "are 11"]),
        ([], "0a" + "00" * 11, ["12 bytes", "are 11"]),
        ([], "ea" + "00" * 10, ["unroutable", "0b111"]),
        ([], "2a" + "00" * 10, ["config id 1", "configuration's 0"]),
        ([], "0b" + "00" * 10, ["describes its length as 12", "it is 11"]),
        (["--config-id", "5", "--key", VECTOR_KEY], "0a" + "00" * 10, ["config id 0", "configuration's 5"]),
    ]
    for args, cid, needles in cases:
        rc, out, err = run(*args, "decode", cid)
        what = f"decode {cid} {args}"
        check(rc == EXIT_NOT_OURS, f"{what}: exit {rc}, wanted {EXIT_NOT_OURS}: {err.strip()!r}")
        check(out == "" and len(err.splitlines()) == 1, f"{what}: out {out!r} err {err!r}")
        for n in needles:
            check(n in err, f"{what}: stderr does not say {n!r}: {err.strip()!r}")
    # length self-description off: the low bits are anyone's
    obj = decode_json(["--self-describing-length", "off"], "1f0102" + "00" * 8)
    check(obj is not None and obj["node"] == 1 and obj["worker"] == 2,
          f"decode with self_describing_length off: {obj}")


def test_never_crashes(rng):
    """Random CID texts: exit 0, 1 or 2, and one line on stderr if not 0."""
    alphabet = "0123456789abcdefABCDEF" * 3 + "xz -"
    for _ in range(40):
        n = rng.randint(1, 48)
        text = "".join(rng.choice(alphabet) for _ in range(n)).strip(" -") or "0"
        args = lb_args(**random_config(rng, rng.randint(0, 6)))
        rc, out, err = run(*args, "decode", text)
        check(rc in (0, 1, 2), f"decode {text!r} {args}: exit {rc}")
        check(rc == 0 or len(err.splitlines()) == 1,
              f"decode {text!r}: stderr {err!r}")


# ---- nft-map ----

def test_nft_text():
    rc, out, _ = run("nft-map", "--node", "3=198.18.13.1", "--node", "1=198.18.11.1",
                     "--node", "2=198.18.12.1", check_rc=0)
    check(out == MAP_ONLY_EXAMPLE, f"map-only output:\n{out}\nwanted:\n{MAP_ONLY_EXAMPLE}")

    # --table: the rules carry the configuration's numbers
    rc, out, _ = run("--config-id", 5, "--server-id-len", 3, "--nonce-len", 6,
                     "nft-map", "--node", "0x0102=198.18.12.1", "--node", "7=198.18.7.1",
                     "--node", "9=198.18.9.1", "--map", "fleet", "--table", "qs_lb",
                     "--service", "198.18.0.1:4433", "--in-service", "9,0x0102",
                     check_rc=0)
    rules = [ln.strip() for ln in out.splitlines()
             if ln.strip().startswith("ip daddr")]
    svc = "ip daddr 198.18.0.1 udp dport 4433"
    spread = ("jhash ip saddr . udp sport . ip daddr . udp dport mod 2 seed 0x51c1 "
              "map { 0 : 198.18.9.1, 1 : 198.18.12.1 }")
    want = [
        f"{svc} notrack",
        f"{svc} @th,64,1 0 @th,72,3 5 ip daddr set @th,80,16 map @fleet accept",
        f"{svc} @th,64,8 & 0xb0 == 0xa0 @th,72,32 0x00000001 @th,104,8 10 @th,112,3 5 "
        f"ip daddr set @th,120,16 map @fleet accept",
        f"{svc} @th,64,8 & 0xa0 == 0x80 @th,72,32 0x00000001 ip daddr set {spread} accept",
        f"{svc} @th,64,1 1 @th,72,32 != {{ 0x00000000, 0x00000001 }} ip daddr set "
        f"{spread} accept",
        f"{svc} counter name quicsteer_unroutable drop",
    ]
    # the nodes' replies: untracked, and from the service address
    replies = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("ip saddr")]
    nodes = "{ 198.18.7.1, 198.18.9.1, 198.18.12.1 }"
    want_replies = [f"ip saddr {nodes} udp sport 4433 notrack",
                    f"ip saddr {nodes} udp sport 4433 ip saddr set 198.18.0.1"]
    check(replies == want_replies, "--table reply rules:\n" + "\n".join(replies) +
          "\nwanted:\n" + "\n".join(want_replies))
    check(rules == want, "--table rules:\n" + "\n".join(rules) +
          "\nwanted:\n" + "\n".join(want))
    head = [ln for ln in out.splitlines() if not ln.startswith("#")][:3]
    check(head == ["table ip qs_lb {}", "delete table ip qs_lb", "table ip qs_lb {"],
          f"--table head: {head}")
    check("\t\ttypeof @th,80,16 : ip daddr\n" in out and
          "elements = { 0x0007 : 198.18.7.1, 0x0009 : 198.18.9.1, "
          "0x0102 : 198.18.12.1 }" in out, f"--table map:\n{out}")
    comments = [ln for ln in out.splitlines() if ln.strip().startswith("#")]
    check(len(comments) >= 10 and any("Version Negotiation" in c for c in comments),
          f"--table comments: {comments}")

    # IPv6: ip6 everywhere, addresses in their short form
    rc, out, _ = run("nft-map", "--node", "1=2001:DB8:0::11", "--node", "2=2001:db8::12",
                     "--table", "t6", "--service", "[2001:db8::1]:443", check_rc=0)
    check("typeof @th,80,8 : ip6 daddr" in out and
          "elements = { 0x01 : 2001:db8::11, 0x02 : 2001:db8::12 }" in out and
          "table ip6 t6 {" in out and
          "jhash ip6 saddr . udp sport . ip6 daddr . udp dport mod 2" in out and
          " ip daddr" not in out.replace("ip6 daddr", ""),
          f"IPv6 --table:\n{out}")


def nft_cases():
    """(name, family, text to check, table name or None, {node id: address}
    its map must hold once loaded)"""
    cases = []
    for fam, a, b, svc in (("ip", "198.18.11.1", "198.18.12.1", "198.18.0.1:443"),
                           ("ip6", "2001:db8::11", "2001:db8::12", "[2001:db8::1]:443")):
        for sid_len, nonce_len, ids in ((2, 8, (1, 2)), (3, 6, (0x0102, 7)),
                                        (10, 6, (2**64 - 1, 5)), (15, 4, (3, 4))):
            node_len = sid_len - 1
            nodes = ["--node", f"{ids[0]}={a}", "--node", f"{ids[1]}={b}"]
            cfg = ["--config-id", 6 if sid_len == 3 else 0, "--server-id-len", sid_len,
                   "--nonce-len", nonce_len]
            rc, out, _ = run(*cfg, "nft-map", *nodes, check_rc=0)
            cases.append((f"{fam} map-only sid {sid_len}", fam,
                          f"table {fam} t {{\n{out}}}\n", None, None))
            rc, out, _ = run(*cfg, "nft-map", *nodes, "--table", "qs_cidtest",
                             "--service", svc, check_rc=0)
            cases.append((f"{fam} --table sid {sid_len}", fam, out, "qs_cidtest",
                          {ids[0]: a, ids[1]: b}))
    return cases


def test_nft_check(tmp):
    why = None
    if os.geteuid() != 0:
        why = "not root"
    elif shutil.which("nft") is None or shutil.which("ip") is None:
        why = "no nft or ip command"
    if why:
        print(f"SKIP nft -c checks of nft-map output: {why}", flush=True)
        return
    ns = f"qs-cidtest-{os.getpid()}-srv"
    cases = nft_cases()
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True,
                      timeout=TIMEOUT).returncode != 0:
        print(f"SKIP nft -c checks of nft-map output: cannot create netns {ns}",
              flush=True)
        return
    try:
        def nft(*args):
            return subprocess.run(["ip", "netns", "exec", ns, "nft", *args],
                                  capture_output=True, text=True, timeout=TIMEOUT)
        for name, fam, text, table, elements in cases:
            path = os.path.join(tmp, re.sub(r"\W+", "_", name) + ".nft")
            with open(path, "w") as f:
                f.write(text)
            p = nft("-c", "-f", path)
            check(p.returncode == 0, f"nft -c -f ({name}) refused it: "
                                     f"{p.stderr.strip()}\n{text}")
            if table is None or p.returncode != 0:
                continue
            # loads, and loads again over itself (the delete of the first
            # line's table), with every node in its map
            for attempt in (1, 2):
                p = nft("-f", path)
                check(p.returncode == 0, f"nft -f ({name}) load {attempt}: "
                                         f"{p.stderr.strip()}")
            # (the text listing: nft 1.0.6's JSON prints keys over 64 bits
            # wrong, 2^64 - 1 as -1)
            p = nft("list", "map", fam, table, "quicsteer_nodes")
            if check(p.returncode == 0, f"nft list map ({name}): {p.stderr.strip()}"):
                got = {int(k, 16): v for k, v in re.findall(
                    r"(0x[0-9a-f]+) : ([0-9a-f.:]+)", p.stdout)}
                check(got == elements, f"{name}: the loaded map holds {got}, "
                                       f"wanted {elements}:\n{p.stdout}")
            p = nft("delete", "table", fam, table)
            check(p.returncode == 0, f"nft delete table ({name}): {p.stderr.strip()}")
        print(f"nft -c: {len(cases)} nft-map outputs checked in {ns}", flush=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=TIMEOUT)


def main():
    if not TOOL or not os.access(TOOL, os.X_OK):
        print(f"QUICSTEER_CID={TOOL!r} is not the built tool", file=sys.stderr)
        return 1
    seed = int(os.environ.get("QS_CID_SEED", random.SystemRandom().getrandbits(32)))
    print(f"seed {seed} (QS_CID_SEED={seed} reproduces this run)", flush=True)
    rng = random.Random(seed)
    rc, out, _ = run("--help", check_rc=0)
    for word in ("encode", "decode", "nft-map", "--config", "--config-id",
                 "--server-id-len", "--nonce-len", "--key", "--node-id",
                 "--self-describing-length", "--server-id", "--worker", "--nonce",
                 "--json", "--node", "--map", "--table", "--service", "--in-service"):
        check(word in out, f"--help does not document {word}")
    with tempfile.TemporaryDirectory(prefix="qs-cidtest-") as tmp:
        for name, fn, args in (("vectors", test_vectors, ()),
                               ("round trips", test_round_trips, (rng,)),
                               ("config file", test_config_file, (tmp,)),
                               ("bad input", test_bad_input, (tmp,)),
                               ("not ours", test_not_ours, ()),
                               ("never crashes", test_never_crashes, (rng,)),
                               ("nft-map text", test_nft_text, ()),
                               ("nft -c", test_nft_check, (tmp,))):
            before, start = len(failures), time.monotonic()
            fn(*args)
            print(f"{name}: {'ok' if len(failures) == before else 'FAILED'} "
                  f"({time.monotonic() - start:.1f} s)", flush=True)
    print(f"{len(failures)} failure(s)" if failures else "all passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
