#!/usr/bin/env python3
"""Differential test: pyvisa-sim (in-process) against a simulator served over TCP.

Given a pyvisa-sim device file, a device name, a server address and a commands file,
every command is sent to both:

  (a) pyvisa-sim itself, through a temporary wrapper file whose ``resources`` section binds
      the device to ``TCPIP::127.0.0.1::5025::SOCKET`` (the device file is left untouched),
      or to the resource an ``oracle`` header names;
  (b) the server, through pyvisa-py and the ``TCPIP::HOST::PORT::SOCKET`` resource.

Each command is written exactly as given plus the device's query termination (the ``q`` of
its ``TCPIP SOCKET`` eom, LF when it has none; with an ``oracle`` header, that of the
resource's interface), and every reply message that follows is
read as raw bytes. The two transcripts must be equal byte for byte; any difference is
printed (command, line, expected bytes, got bytes) and the exit code is 1. On success one
summary line is printed.

Reading without waiting long:
  * pyvisa-sim produces its replies synchronously while it handles the write, so its
    output queue is complete as soon as ``write_raw`` returns: the script reads message
    after message while that queue is non-empty (the queue is peeked, so "no reply" costs
    nothing and never races a timeout).
  * The server is then read until it has sent at least as many bytes as pyvisa-sim did
    (waiting at most ``--reply-timeout-ms``), then for ``--settle-ms`` more to catch extra
    bytes; when pyvisa-sim sent nothing, the script waits ``--silence-ms`` for stray bytes.
    A reply the server sends later than that still fails the run: it is read with the next
    command (and reported there, flagged as possibly late) or by the final drain.

Commands file (one command a line, UTF-8):
  ``# text``          a comment; blank and whitespace-only lines are skipped too
  ``#! device: F``    header: the device file (relative to the commands file, or
                      ``pyvisa-sim:PATH`` for a file inside the installed pyvisa_sim package)
  ``#! name: N``      header: the device name in that file; repeat it to run the same
                      commands against several devices of the file (one --name per run)
  ``#! oracle: R``    header (optional): the resource pyvisa-sim serves the device on,
                      e.g. ``GPIB0::12::INSTR`` for a file with eoms for GPIB and serial
                      only, which the server frames with the termination those agree on;
                      its eom is the one both sides are driven with
  ``CMD``             send CMD (verbatim, nothing stripped but the line break) + query eom
  ``@esc TEXT``       send TEXT with backslash escapes decoded (\\n \\r \\t \\\\ \\xNN) + eom
  ``@raw TEXT``       send TEXT with escapes decoded and NO eom (partial or odd messages)
  ``@empty``          send the query eom alone (an empty message)
  ``@shape CMD``      send CMD + eom; compare replies by shape (each run of digits, with
                      its sign, counts as one digit), for replies built with RANDOM(...)

Exit codes: 0 equal, 1 a difference, 2 the harness could not run (bad arguments, cannot
connect, pyvisa-sim raised while handling a command).

Other modes:
  ``--where``            print the installed pyvisa_sim package folder and exit
  ``--serve-reference``  (with --device/--name/--listen) serve pyvisa-sim itself over TCP,
                         to check the harness: differential against it must find nothing
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SIM_RESOURCE = "TCPIP::127.0.0.1::5025::SOCKET"
PACKAGE_PREFIX = "pyvisa-sim:"
# A read of pyvisa-sim that finds its queue non-empty returns at once; this only bounds a
# read that would otherwise hang if pyvisa-sim's internals changed.
SIM_READ_TIMEOUT_MS = 2000
CHUNK = 1 << 20


class HarnessError(Exception):
    """The comparison could not be made (exit code 2)."""


# --- commands file -------------------------------------------------------------------


@dataclass
class Command:
    """One line of a commands file."""

    line: int
    text: str  # the line as written, for reports
    payload: bytes | None  # bytes to send; None means "the query eom alone"
    append_eom: bool
    shape: bool = False

    def wire(self, query_eom: bytes) -> bytes:
        body = self.payload if self.payload is not None else b""
        return body + query_eom if self.append_eom else body


@dataclass
class CommandsFile:
    path: Path
    headers: dict[str, list[str]] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)


def unescape(text: str) -> bytes:
    """Decodes \\n \\r \\t \\\\ \\xNN in `text`; every other character is sent as UTF-8."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt in ("n", "r", "t", "\\"):
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\"}[nxt]
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            raise ValueError(f"unknown escape `\\{nxt}`")
    return bytes(out)


def parse_commands(path: Path) -> CommandsFile:
    parsed = CommandsFile(path)
    raw_lines = path.read_bytes().decode("utf-8").split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    for number, line in enumerate(raw_lines, start=1):
        line = line[:-1] if line.endswith("\r") else line
        where = f"{path}:{number}"
        if line.startswith("#!"):
            key, sep, value = line[2:].partition(":")
            if not sep:
                raise HarnessError(f"{where}: a header reads `#! key: value`")
            parsed.headers.setdefault(key.strip(), []).append(value.strip())
            continue
        if not line.strip() or line.startswith("#"):
            continue
        try:
            if line == "@empty":
                cmd = Command(number, line, None, True)
            elif line.startswith("@esc "):
                cmd = Command(number, line, unescape(line[5:]), True)
            elif line.startswith("@raw "):
                cmd = Command(number, line, unescape(line[5:]), False)
            elif line.startswith("@shape "):
                cmd = Command(number, line, line[7:].encode("utf-8"), True, shape=True)
            elif line.startswith("@"):
                raise ValueError(f"unknown directive `{line.split()[0]}`")
            else:
                cmd = Command(number, line, line.encode("utf-8"), True)
        except ValueError as e:
            raise HarnessError(f"{where}: {e}") from None
        parsed.commands.append(cmd)
    return parsed


def one_header(cmds: CommandsFile, key: str) -> str:
    values = cmds.headers.get(key, [])
    if len(values) != 1:
        how = "none" if not values else f"{len(values)} (choose one with --{key})"
        raise HarnessError(f"{cmds.path}: needs one `#! {key}:` header, has {how}")
    return values[0]


def oracle(args, cmds: CommandsFile) -> str:
    """The resource pyvisa-sim serves the device on: --oracle, the header, or SIM_RESOURCE."""
    if args.oracle:
        return args.oracle
    values = cmds.headers.get("oracle", [])
    if len(values) > 1:
        raise HarnessError(f"{cmds.path}: more than one `#! oracle:` header")
    return values[0] if values else SIM_RESOURCE


def package_dir() -> Path:
    import pyvisa_sim

    return Path(pyvisa_sim.__file__).resolve().parent


def resolve_device(spec: str, relative_to: Path) -> Path:
    """A device path from a header or flag: `pyvisa-sim:PATH` or a path."""
    if spec.startswith(PACKAGE_PREFIX):
        return package_dir() / spec[len(PACKAGE_PREFIX) :]
    path = Path(spec)
    return path if path.is_absolute() else (relative_to / path)


# --- pyvisa-sim side -------------------------------------------------------------------


def wrapper_file(device: Path, name: str, folder: str, resource: str) -> Path:
    """Writes a definitions file that binds `name` from `device` to `resource`."""
    import json

    # JSON is YAML: quoting every scalar keeps odd names and paths intact.
    text = (
        'spec: "1.1"\n'
        "resources:\n"
        f"  {json.dumps(resource)}:\n"
        f"    device: {json.dumps(name)}\n"
        f"    filename: {json.dumps(str(device.resolve()))}\n"
    )
    path = Path(folder) / "wrapper.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class SimSide:
    """pyvisa-sim in this process."""

    def __init__(self, device: Path, name: str, folder: str, resource: str = SIM_RESOURCE):
        import pyvisa

        wrapper = wrapper_file(device, name, folder, resource)
        self.rm = pyvisa.ResourceManager(f"{wrapper}@sim")
        self.inst = self.rm.open_resource(resource)
        self.inst.timeout = SIM_READ_TIMEOUT_MS
        session = self.rm.visalib.sessions[self.inst.session]
        self.device = session.device
        self.query_eom: bytes = self.device._query_eom
        self.response_eom: bytes = self.device._response_eom

    def pending(self) -> bool:
        buffers = getattr(self.device, "_output_buffers", None)
        if buffers is None:
            raise HarnessError("pyvisa-sim has no `_output_buffers`: unsupported version")
        return bool(buffers)

    def check_comparable(self, data: bytes) -> None:
        """Refuses a write whose bytes, after what pyvisa-sim holds, contain the query
        termination anywhere but at their very end. pyvisa-sim looks for the termination
        only at the end of each write (`A\nB\n` in one write is the one message `A\nB`),
        while over TCP write boundaries do not exist: such a command has no single answer."""
        held = bytes(getattr(self.device, "_input_buffer", b""))
        buffer, eom = held + data, self.query_eom
        at = buffer.find(eom) if eom else -1
        while at >= 0:
            if at + len(eom) < len(buffer):
                raise HarnessError(
                    f"the query termination {eom!r} is inside {buffer!r} (held + written), "
                    "not only at its end: pyvisa-sim splits messages per write, TCP cannot"
                )
            at = buffer.find(eom, at + 1)

    def exchange(self, data: bytes) -> list[bytes]:
        self.check_comparable(data)
        try:
            self.inst.write_raw(data)
        except Exception as e:  # noqa: BLE001 - any failure is the command file's fault
            raise HarnessError(f"pyvisa-sim raised {type(e).__name__}: {e}") from None
        replies = []
        while self.pending():
            # One read returns one reply message: pyvisa-sim ends each with END.
            chunk, _status = self.inst.visalib.read(self.inst.session, CHUNK)
            replies.append(bytes(chunk))
        return replies

    def close(self) -> None:
        self.inst.close()
        self.rm.close()


# --- the server side -------------------------------------------------------------------


class ServerSide:
    """The server under test, through pyvisa-py's TCPIP SOCKET resource."""

    def __init__(self, address: str, response_eom: bytes):
        import pyvisa
        from pyvisa import constants

        host, _, port = address.rpartition(":")
        self.resource = f"TCPIP::{host}::{port}::SOCKET"
        self.rm = pyvisa.ResourceManager("@py")
        try:
            self.inst = self.rm.open_resource(self.resource, open_timeout=5000)
        except Exception as e:  # noqa: BLE001
            raise HarnessError(f"cannot open {self.resource}: {e}") from None
        self.timeout_error = (pyvisa.errors.VisaIOError, constants.StatusCode.error_timeout)
        # Return whatever has arrived once the line goes quiet, rather than holding it
        # until the timeout (pyvisa-py suppresses END on sockets by default) ...
        self.inst.set_visa_attribute(constants.VI_ATTR_SUPPRESS_END_EN, False)
        # ... and hand back reply messages one at a time when they end in a known byte.
        if response_eom:
            self.inst.set_visa_attribute(constants.VI_ATTR_TERMCHAR, response_eom[-1])
            self.inst.set_visa_attribute(constants.VI_ATTR_TERMCHAR_EN, True)
        else:
            self.inst.set_visa_attribute(constants.VI_ATTR_TERMCHAR_EN, False)

    def read_for(self, timeout_ms: float) -> bytes:
        """One read: the bytes that arrive within `timeout_ms` (empty if none)."""
        self.inst.timeout = max(timeout_ms, 1)
        try:
            chunk, _status = self.inst.visalib.read(self.inst.session, CHUNK)
        except self.timeout_error[0] as e:
            if e.error_code == self.timeout_error[1]:
                return b""
            raise
        return bytes(chunk)

    def send(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.inst.write_raw(data)
        except OSError as e:
            raise HarnessError(f"cannot send to {self.resource}: {e}") from None

    def collect(self, expected: int, reply_ms: float, settle_ms: float, silence_ms: float) -> bytes:
        got = bytearray()
        deadline = time.monotonic() + reply_ms / 1000
        while len(got) < expected:
            left = (deadline - time.monotonic()) * 1000
            if left <= 0:
                break
            chunk = self.read_for(left)
            if not chunk:
                break
            got += chunk
        quiet = settle_ms if expected else silence_ms
        while True:
            chunk = self.read_for(quiet)
            if not chunk:
                return bytes(got)
            got += chunk
            quiet = settle_ms

    def close(self) -> None:
        try:
            self.inst.close()
        finally:
            self.rm.close()


# --- comparison and report --------------------------------------------------------------


def split_messages(data: bytes, eom: bytes) -> list[bytes]:
    """`data` cut after every `eom` (the last piece may lack it)."""
    if not eom:
        return [data] if data else []
    out, start = [], 0
    while True:
        end = data.find(eom, start)
        if end < 0:
            break
        out.append(data[start : end + len(eom)])
        start = end + len(eom)
    if start < len(data):
        out.append(data[start:])
    return out


def shape(data: bytes) -> bytes:
    """`data` with every signed run of digits made `9`: `-2.08, 3.91` -> `9.9, 9.9`."""
    return re.sub(rb"[-+]?[0-9]+", b"9", data)


def show(messages: list[bytes]) -> str:
    if not messages:
        return "(no reply)"
    return " ".join(repr(m)[1:] for m in messages)


@dataclass
class Outcome:
    commands: int = 0
    replies: int = 0
    differences: list[str] = field(default_factory=list)
    gave_up: bool = False
    seconds: float = 0.0


def compare(args, cmds: CommandsFile, device: Path, name: str) -> Outcome:
    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="pyvisa_diff_") as folder:
        started = time.monotonic()
        sim = SimSide(device, name, folder, oracle(args, cmds))
        server = ServerSide(args.server, sim.response_eom)
        previous_silent = False
        short_in_a_row = 0
        try:
            for cmd in cmds.commands:
                wire = cmd.wire(sim.query_eom)
                try:
                    expected = sim.exchange(wire)
                    server.send(wire)
                except HarnessError as e:
                    raise HarnessError(f"{cmds.path}:{cmd.line}: `{cmd.text}`: {e}") from None
                want = b"".join(expected)
                got = server.collect(
                    len(want), args.reply_timeout_ms, args.settle_ms, args.silence_ms
                )
                outcome.commands += 1
                if args.transcript:
                    print(f"{cmd.line:>4} {wire!r:<40} -> {show(expected)}")
                outcome.replies += len(expected)
                equal = shape(want) == shape(got) if cmd.shape else want == got
                if not equal:
                    note = ""
                    if previous_silent and len(got) > len(want):
                        note = "\n    (note: some bytes may be a late reply to the previous command)"
                    how = " (compared by shape)" if cmd.shape else ""
                    outcome.differences.append(
                        f"{cmds.path.name}:{cmd.line}: {cmd.text!r} sent as {wire!r}{how}\n"
                        f"    expected: {show(expected)}\n"
                        f"    got:      {show(split_messages(got, sim.response_eom))}{note}"
                    )
                previous_silent = not want
                # A server that stopped answering would cost the reply timeout per command.
                short_in_a_row = short_in_a_row + 1 if len(got) < len(want) else 0
                if short_in_a_row >= args.give_up_after:
                    outcome.differences.append(
                        f"{cmds.path.name}:{cmd.line}: gave up: {short_in_a_row} commands in a row "
                        f"got less than pyvisa-sim's reply within {args.reply_timeout_ms:.0f} ms"
                    )
                    outcome.gave_up = True
                    break
            trailing = b"" if outcome.gave_up else server.collect(0, 0, args.settle_ms, args.final_drain_ms)
            if trailing:
                outcome.differences.append(
                    f"{cmds.path.name}: after the last command the server sent "
                    f"{show(split_messages(trailing, sim.response_eom))}; pyvisa-sim sent nothing"
                )
        finally:
            server.close()
            sim.close()
        outcome.seconds = time.monotonic() - started
    return outcome


# --- reference server (harness self-check) ---------------------------------------------


def serve_reference(args, cmds: CommandsFile, device: Path, name: str) -> int:
    """Serves pyvisa-sim over TCP: message by message (split at the query eom), in order."""
    import socket

    with tempfile.TemporaryDirectory(prefix="pyvisa_ref_") as folder:
        sim = SimSide(device, name, folder, oracle(args, cmds))
        host, _, port = args.listen.rpartition(":")
        listener = socket.create_server((host, int(port)))
        print(f"listening on {host}:{listener.getsockname()[1]}", flush=True)
        eom = sim.query_eom
        while True:
            conn, _peer = listener.accept()
            pending = b""
            with conn:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    pending += data
                    while eom and eom in pending:
                        cut = pending.index(eom) + len(eom)
                        message, pending = pending[:cut], pending[cut:]
                        conn.sendall(b"".join(sim.exchange(message)))
                    if not eom:
                        conn.sendall(b"".join(sim.exchange(pending)))
                        pending = b""


# --- entry point --------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--commands", type=Path, help="commands file (its headers name the device)")
    p.add_argument("--device", help="device file; overrides the `#! device:` header")
    p.add_argument("--name", help="device name; overrides the `#! name:` header")
    p.add_argument("--oracle", help="pyvisa-sim's resource; overrides the `#! oracle:` header")
    p.add_argument("--server", help="HOST:PORT of the simulator under test")
    p.add_argument("--reply-timeout-ms", type=float, default=1500)
    p.add_argument("--settle-ms", type=float, default=4)
    p.add_argument("--silence-ms", type=float, default=25)
    p.add_argument("--final-drain-ms", type=float, default=250)
    p.add_argument("--give-up-after", type=int, default=3,
                   help="stop after this many commands in a row whose reply came short")
    p.add_argument("--show", type=int, default=60, help="print at most this many differences")
    p.add_argument("--transcript", action="store_true", help="print every exchange")
    p.add_argument("--where", action="store_true", help="print pyvisa_sim's folder and exit")
    p.add_argument("--serve-reference", action="store_true", help="serve pyvisa-sim over TCP")
    p.add_argument("--listen", default="127.0.0.1:0", help="address for --serve-reference")
    args = p.parse_args(argv)

    if args.where:
        print(package_dir())
        return 0

    try:
        cmds = parse_commands(args.commands) if args.commands else CommandsFile(Path("-"))
        device_spec = args.device or one_header(cmds, "device")
        name = args.name or one_header(cmds, "name")
        base = args.commands.parent if args.commands else Path.cwd()
        device = resolve_device(device_spec, base)
        if not device.is_file():
            raise HarnessError(f"no device file at {device}")
        if args.serve_reference:
            return serve_reference(args, cmds, device, name)
        if not args.commands or not args.server:
            raise HarnessError("--commands and --server are required")
        outcome = compare(args, cmds, device, name)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    label = f"{args.commands.name} ({name!r} from {device.name})"
    if outcome.differences:
        print(f"{label}: {len(outcome.differences)} of {outcome.commands} commands differ "
              "(expected = pyvisa-sim, got = server)")
        for d in outcome.differences[: args.show]:
            print(d)
        if len(outcome.differences) > args.show:
            print(f"... and {len(outcome.differences) - args.show} more (see --show)")
        return 1
    print(f"{label}: {outcome.commands} commands, {outcome.replies} replies compared, "
          f"all equal in {outcome.seconds:.2f}s")
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except Exception:  # noqa: BLE001 - a crash is a harness failure, never "a difference"
        import traceback

        traceback.print_exc()
        code = 2
    sys.exit(code)
