#!/usr/bin/env python3
"""pyvisa-py as instrument drivers use it, against a server under test.

Opens ``TCPIP::HOST::PORT::SOCKET`` with pyvisa-py (``@py``) the way a driver does: the
termination set with ``write_termination`` and ``read_termination``, Nagle's algorithm left
as pyvisa-py leaves it (on: it does not set TCP_NODELAY on SOCKET resources). Does one
thing, then prints one JSON object on stdout for the calling test to judge.

Modes:
  greeting --lines N    read N messages right after opening, before writing anything, then
                        query ``*IDN?``: {"greeting": [...], "idn": "..."}
  pairs --pairs N --write FMT --query Q
                        N times ``write(FMT.format(i))`` then ``query(Q)``:
                        {"seconds": time of the N pairs, "nodelay": the socket's TCP_NODELAY,
                         "replies": [...]}; with --device, --name and --oracle also the
                        same calls against pyvisa-sim in this process, serving the device
                        file on the resource ORACLE: {"oracle": [...]}

Exit codes: 0 done (the test judges the output), 2 the client could not run.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT_MS = 5000


class HarnessError(Exception):
    """The client could not do its job (exit code 2)."""


def unescape(text: str) -> str:
    """`\\r`, `\\n` and `\\t` as typed in a shell, decoded."""
    return text.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")


def configure(inst, termination: str) -> None:
    inst.write_termination = termination
    inst.read_termination = termination
    inst.timeout = TIMEOUT_MS


def open_server(address: str, termination: str):
    import pyvisa

    host, _, port = address.rpartition(":")
    resource = f"TCPIP::{host}::{port}::SOCKET"
    rm = pyvisa.ResourceManager("@py")
    try:
        inst = rm.open_resource(resource, open_timeout=TIMEOUT_MS)
    except Exception as e:  # noqa: BLE001 - any failure means the client cannot run
        raise HarnessError(f"cannot open {resource}: {e}") from None
    configure(inst, termination)
    return rm, inst


def open_oracle(device: Path, name: str, resource: str, termination: str, folder: str):
    """pyvisa-sim serving `name` from `device` on `resource`, as a test suite opens it."""
    import pyvisa

    wrapper = Path(folder) / "wrapper.yaml"
    wrapper.write_text(
        'spec: "1.1"\nresources:\n'
        f"  {json.dumps(resource)}:\n"
        f"    device: {json.dumps(name)}\n"
        f"    filename: {json.dumps(str(device.resolve()))}\n",
        encoding="utf-8",
    )
    rm = pyvisa.ResourceManager(f"{wrapper}@sim")
    inst = rm.open_resource(resource)
    configure(inst, termination)
    return rm, inst


def nodelay(inst) -> int:
    """TCP_NODELAY of the socket pyvisa-py opened (0: Nagle's algorithm is on)."""
    session = inst.visalib.sessions[inst.session]
    sock = getattr(session, "interface", None)
    if not isinstance(sock, socket.socket):
        raise HarnessError("pyvisa-py's SOCKET session has no socket: unsupported version")
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def pairs(inst, count: int, write: str, query: str) -> list[str]:
    replies = []
    for i in range(count):
        inst.write(write.format(i))
        replies.append(inst.query(query))
    return replies


def run_pairs(args, termination: str) -> dict:
    rm, inst = open_server(args.server, termination)
    try:
        # One pair first: a connection's first segments are acknowledged at once anyway.
        pairs(inst, 1, args.write, args.query)
        started = time.perf_counter()
        replies = pairs(inst, args.pairs, args.write, args.query)
        out = {
            "seconds": time.perf_counter() - started,
            "nodelay": nodelay(inst),
            "replies": replies,
        }
    finally:
        inst.close()
        rm.close()
    if args.device:
        if not (args.name and args.oracle):
            raise HarnessError("--device needs --name and --oracle")
        with tempfile.TemporaryDirectory(prefix="pyvisa_clients_") as folder:
            rm, inst = open_oracle(Path(args.device), args.name, args.oracle, termination, folder)
            try:
                pairs(inst, 1, args.write, args.query)
                out["oracle"] = pairs(inst, args.pairs, args.write, args.query)
            finally:
                inst.close()
                rm.close()
    return out


def run_greeting(args, termination: str) -> dict:
    rm, inst = open_server(args.server, termination)
    try:
        greeting = [inst.read() for _ in range(args.lines)]
        return {"greeting": greeting, "idn": inst.query("*IDN?")}
    finally:
        inst.close()
        rm.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["greeting", "pairs"])
    p.add_argument("--server", required=True, help="HOST:PORT of the server under test")
    p.add_argument("--termination", default="\\n", help="write and read termination, e.g. '\\r\\n'")
    p.add_argument("--lines", type=int, default=1, help="greeting: messages to read first")
    p.add_argument("--pairs", type=int, default=50, help="pairs: how many")
    p.add_argument("--write", default="SOUR1:VOLT {}", help="pairs: the command, {} is the index")
    p.add_argument("--query", default="SOUR1:VOLT?", help="pairs: the query")
    p.add_argument("--device", help="pairs: a device file for pyvisa-sim to answer too")
    p.add_argument("--name", help="pairs: the device in that file")
    p.add_argument("--oracle", help="pairs: the resource pyvisa-sim serves it on")
    args = p.parse_args(argv)
    termination = unescape(args.termination)
    try:
        out = run_greeting(args, termination) if args.mode == "greeting" else run_pairs(args, termination)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except Exception:  # noqa: BLE001 - a crash is a harness failure, never a result
        import traceback

        traceback.print_exc()
        code = 2
    sys.exit(code)
