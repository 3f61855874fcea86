#!/usr/bin/env python3
"""A 110 command center (or a 12345 platform) on the bridge protocol of docs/bridge.md,
written from that document with Python's standard library only.

It pushes incidents to the center's bridge (signed, retried until answered 202), takes the
center's status callbacks and hand-overs, checks every signature and time window, and checks
that each incident's statuses follow the state machine:

    received < signed_for < dispatched < on_scene < reported_back < closed < visited
    received < signed_for < returned          (returned ends it)

A status that goes back is logged as a violation; the same Idempotency-Key again is logged as
a duplicate and answered as before (a receiver is idempotent). What it has seen is kept in
--state, so it can be killed and restarted mid-stream and go on checking.

With --auto-progress, a hand-over it receives is answered on the bridge: accepted, then done.

Logs JSON lines to --log; prints `LISTENING <port>` first.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RANK = {"received": 0, "signed_for": 1, "dispatched": 2, "on_scene": 3, "reported_back": 4,
        "closed": 5, "visited": 6, "returned": 7}
WINDOW = 300

args = None
lock = threading.Lock()
state = {"seen": {}, "last": {}}


def log(event, **fields):
    fields["event"] = event
    fields["t"] = time.time()
    with lock:
        with open(args.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(fields, ensure_ascii=False) + "\n")


def save():
    tmp = args.state + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False)
    os.replace(tmp, args.state)


def sign(timestamp, body):
    return hmac.new(args.secret.encode(), f"{timestamp}\n".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(body):
    ts = int(time.time())
    return {"Content-Type": "application/json", "X-Bridge-Peer": args.peer,
            "X-Bridge-Timestamp": str(ts), "X-Bridge-Signature": sign(ts, body)}


def post(path, doc, expect):
    """POSTs to the bridge until it answers `expect`; the answer's JSON."""
    body = json.dumps(doc, ensure_ascii=False).encode()
    delay = 0.2
    while True:
        request = urllib.request.Request(args.bridge + path, data=body, headers=signed_headers(body), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=20) as answer:
                if answer.status == expect:
                    return json.loads(answer.read())
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            if e.code < 500:
                log("refused", path=path, status=e.code, answer=detail)
                return None
            log("retry", path=path, why=f"{e.code} {detail}")
        except (urllib.error.URLError, OSError) as e:
            log("retry", path=path, why=str(e))
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-Bridge-Timestamp", "")
        if (self.headers.get("X-Bridge-Peer") != args.peer or not ts.isdigit()
                or abs(time.time() - int(ts)) > WINDOW
                or not hmac.compare_digest(sign(int(ts), body), self.headers.get("X-Bridge-Signature", ""))):
            log("bad_signature", path=self.path)
            return self.answer(401, {"error": "unauthorized"})
        key = self.headers.get("Idempotency-Key", "")
        doc = json.loads(body)
        with lock:
            if key in state["seen"]:
                duplicate = True
            else:
                duplicate = False
                state["seen"][key] = True
        if duplicate:
            log("duplicate", key=key)
            return self.answer(200, {"ok": True})
        if self.path.startswith("/v1/incidents/") and self.path.endswith("/status"):
            number, status = doc["incident_no"], doc["status"]
            with lock:
                last = state["last"].get(number)
                if last is not None and (RANK[status] <= RANK[last] or last in ("returned", "visited")):
                    violation = f"{number}: {status} after {last}"
                else:
                    violation = None
                    state["last"][number] = status
                save()
            if violation:
                log("violation", reason=violation)
            log("status", incident_no=number, status=status, detail=doc.get("detail", ""), key=key, id=doc.get("id"))
            return self.answer(200, {"ok": True})
        if self.path == "/v1/handovers":
            with lock:
                save()
            log("handover", handover=doc["handover"], reason=doc["reason"], incident=doc["incident"])
            self.answer(202, {"ok": True})
            if args.auto_progress:
                threading.Thread(target=progress, args=(doc["handover"],), daemon=True).start()
            return
        log("unknown_path", path=self.path)
        return self.answer(404, {"error": "not_found"})


def progress(handover):
    for state_, text in (("accepted", "已受理，转交属地街道"), ("done", "已办结：属地街道已上门处理")):
        answer = post(f"/v1/handovers/{handover}/progress", {"state": state_, "text": text}, 200)
        log("progressed", handover=handover, state=state_, answer=answer)


def push(count):
    for n in range(1, count + 1):
        number = f"{args.prefix}-{n:04d}"
        doc = {"incident_no": number, "revision": 1, "reported_at": time.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
               "caller": "139****5678", "content": f"第{n}起警情：村民报称邻里纠纷升级", "address": "青溪村三组",
               "location": {"lon": 120.0021 + n * 0.001, "lat": 30.1352, "crs": "wgs84"},
               "category": "纠纷", "severity": "high", "jurisdiction": "青溪派出所"}
        answer = post("/v1/incidents", doc, 202)
        log("pushed", incident_no=number, revision=1, answer=answer)


def main():
    global args, state
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--peer", default="110")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--bridge", help="the center's bridge, http://host:port")
    parser.add_argument("--push", type=int, default=0, help="incidents to push at start")
    parser.add_argument("--prefix", default="110-20261206")
    parser.add_argument("--auto-progress", action="store_true")
    args = parser.parse_args()
    if os.path.exists(args.state):
        with open(args.state, encoding="utf-8") as f:
            state = json.load(f)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    if args.push:
        threading.Thread(target=push, args=(args.push,), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
