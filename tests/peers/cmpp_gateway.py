#!/usr/bin/env python3
"""A CMPP gateway (ISMG) simulator, written from China Mobile's CMPP 2.0 and 3.0 specifications,
with the Python standard library only — a peer nobody on linkage wrote against our channel.

It listens on 127.0.0.1, checks each CMPP_CONNECT's authenticator (MD5 of the SP id, nine zero
bytes, the shared secret and the timestamp), takes CMPP_SUBMITs in the version the client
connected with (0x20: 2.0, 0x30: 3.0), answers each with a Msg_Id, logs it as a JSON line
(the UCS-2 / GBK / ASCII text decoded, long-message parts with their UDH reference), and, when
a delivery report was asked for, sends a CMPP_DELIVER status report (DELIVRD, or UNDELIV for a
number given with --undeliverable). It answers CMPP_ACTIVE_TEST (unless --unresponsive: a
gateway whose session hangs) and CMPP_TERMINATE.

    cmpp_gateway.py --port 0 --log FILE --sp 901234:secret [--undeliverable 13800000099]

prints `LISTENING <port>` once it listens.
"""

import argparse
import hashlib
import json
import socket
import struct
import sys
import threading
import time

CONNECT, CONNECT_RESP = 0x00000001, 0x80000001
TERMINATE, TERMINATE_RESP = 0x00000002, 0x80000002
SUBMIT, SUBMIT_RESP = 0x00000004, 0x80000004
DELIVER, DELIVER_RESP = 0x00000005, 0x80000005
ACTIVE_TEST, ACTIVE_TEST_RESP = 0x00000008, 0x80000008


def cstr(raw):
    return raw.split(b"\x00", 1)[0].decode("ascii", "replace")


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8")

    def write(self, **event):
        with self.lock:
            self.file.write(json.dumps(event, ensure_ascii=False) + "\n")
            self.file.flush()


class Session(threading.Thread):
    next_msg_id = 1
    id_lock = threading.Lock()

    def __init__(self, conn, args, log):
        super().__init__(daemon=True)
        self.conn, self.args, self.log = conn, args, log
        self.version = None
        self.sp = None
        self.seq = 0x10000
        self.write_lock = threading.Lock()

    def read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def send(self, command, seq, body):
        with self.write_lock:
            self.conn.sendall(struct.pack("!LLL", 12 + len(body), command, seq) + body)

    def run(self):
        try:
            while True:
                length, command, seq = struct.unpack("!LLL", self.read_exact(12))
                if length < 12 or length > 4096:
                    self.log.write(event="bad_length", length=length)
                    return
                body = self.read_exact(length - 12)
                if command == CONNECT:
                    if not self.connect(seq, body):
                        return
                elif self.sp is None:
                    self.log.write(event="before_connect", command=command)
                    return
                elif command == SUBMIT:
                    self.submit(seq, body)
                elif command == ACTIVE_TEST:
                    self.log.write(event="active_test", sp=self.sp)
                    if not self.args.unresponsive:
                        self.send(ACTIVE_TEST_RESP, seq, b"\x00")
                elif command == TERMINATE:
                    self.log.write(event="terminate", sp=self.sp)
                    self.send(TERMINATE_RESP, seq, b"")
                    return
                elif command in (DELIVER_RESP, ACTIVE_TEST_RESP):
                    pass
                else:
                    self.log.write(event="unknown_command", command=command)
        except (EOFError, ConnectionError, OSError):
            pass
        finally:
            self.conn.close()

    def connect(self, seq, body):
        sp = body[0:6].decode("ascii", "replace")
        authenticator, version = body[6:22], body[22]
        timestamp, = struct.unpack("!L", body[23:27])
        secret = self.args.secrets.get(sp)
        expected = None
        if secret is not None:
            expected = hashlib.md5(sp.encode() + b"\x00" * 9 + secret.encode() + b"%010d" % timestamp).digest()
        status = 0 if expected == authenticator else 3
        if version not in (0x20, 0x30):
            status = 4
        self.log.write(event="connect", sp=sp, version=version, status=status)
        ismg = hashlib.md5(bytes([status]) + authenticator + (secret or "").encode()).digest()
        if version == 0x30:
            self.send(CONNECT_RESP, seq, struct.pack("!L", status) + ismg + bytes([0x30]))
        else:
            self.send(CONNECT_RESP, seq, bytes([status]) + ismg + bytes([0x20]))
        if status == 0:
            self.version, self.sp = version, sp
        return status == 0

    def submit(self, seq, body):
        v3 = self.version == 0x30
        terminal = 32 if v3 else 21
        at = 8
        pk_total, pk_number, registered_delivery = body[at], body[at + 1], body[at + 2]
        at += 4  # Pk_total, Pk_number, Registered_Delivery, Msg_level
        service_id = cstr(body[at:at + 10])
        at += 10 + 1 + terminal  # Service_Id, Fee_UserType, Fee_terminal_Id
        if v3:
            at += 1  # Fee_terminal_type
        tp_udhi, msg_fmt = body[at + 1], body[at + 2]
        at += 3  # TP_pId, TP_udhi, Msg_Fmt
        msg_src = cstr(body[at:at + 6])
        at += 6 + 2 + 6 + 17 + 17  # Msg_src, FeeType, FeeCode, ValId_Time, At_Time
        src_id = cstr(body[at:at + 21])
        at += 21
        count = body[at]
        at += 1
        dests = [cstr(body[at + i * terminal:at + (i + 1) * terminal]) for i in range(count)]
        at += count * terminal
        if v3:
            at += 1  # Dest_terminal_type
        length = body[at]
        content = body[at + 1:at + 1 + length]
        reference = None
        if tp_udhi and content and content[0] + 1 <= len(content):
            udh = content[:content[0] + 1]
            if len(udh) >= 6 and udh[1] == 0x00:
                reference = udh[3]
            content = content[content[0] + 1:]
        if msg_fmt == 8:
            text = content.decode("utf-16-be", "replace")
        elif msg_fmt == 15:
            text = content.decode("gbk", "replace")
        else:
            text = content.decode("ascii", "replace")
        with Session.id_lock:
            msg_id = Session.next_msg_id
            Session.next_msg_id += 1
        self.log.write(event="submit", version=self.version, sp=self.sp, msg_id=msg_id, service_id=service_id,
                       msg_src=msg_src, src_id=src_id, dests=dests, msg_fmt=msg_fmt, pk_total=pk_total,
                       pk_number=pk_number, reference=reference, registered_delivery=registered_delivery, text=text)
        result = struct.pack("!L", 0) if v3 else b"\x00"
        self.send(SUBMIT_RESP, seq, struct.pack("!Q", msg_id) + result)
        if registered_delivery == 1:
            for dest in dests:
                stat = "UNDELIV" if dest in self.args.undeliverable else "DELIVRD"
                threading.Timer(0.05, self.report, (msg_id, dest, stat, src_id)).start()

    def report(self, msg_id, dest, stat, src_id):
        v3 = self.version == 0x30
        terminal = 32 if v3 else 21
        now = time.strftime("%y%m%d%H%M").encode()
        content = (struct.pack("!Q", msg_id) + stat.encode().ljust(7, b"\x00") + now + now
                   + dest.encode().ljust(terminal, b"\x00") + struct.pack("!L", 0))
        body = (struct.pack("!Q", 0) + src_id.encode().ljust(21, b"\x00") + b"\x00" * 10 + b"\x00\x00\x00"
                + dest.encode().ljust(terminal, b"\x00") + (b"\x00" if v3 else b"") + b"\x01"
                + bytes([len(content)]) + content + (b"\x00" * 20 if v3 else b"\x00" * 8))
        self.seq += 1
        try:
            self.send(DELIVER, self.seq, body)
            self.log.write(event="report", msg_id=msg_id, dest=dest, stat=stat)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--sp", action="append", default=[], help="SP_ID:SECRET")
    parser.add_argument("--undeliverable", action="append", default=[])
    parser.add_argument("--unresponsive", action="store_true", help="take CMPP_ACTIVE_TEST, never answer it")
    args = parser.parse_args()
    args.secrets = dict(s.split(":", 1) for s in args.sp)
    log = Log(args.log)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(16)
    print("LISTENING %d" % server.getsockname()[1], flush=True)
    while True:
        conn, _ = server.accept()
        Session(conn, args, log).start()


if __name__ == "__main__":
    sys.exit(main())
