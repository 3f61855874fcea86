#!/usr/bin/env python3
"""A vendor HTTP SMS service simulator, shaped like the common cloud SMS APIs (phone numbers, a
sign name, a template code and its parameters; delivery reports pushed to the customer's
callback), Python standard library only — a peer nobody on linkage wrote.

    sms_cloud.py --port 0 --log FILE --key KEY:SECRET [--callback URL] [--undeliverable MOBILE]

prints `LISTENING <port>` once it listens.

POST /v1/sms/send with JSON {"phone_numbers":[…],"sign_name":…,"template_code":…,
"template_param":{…},"out_id":…} and the headers X-Sms-Key, X-Sms-Timestamp (Unix seconds,
within 300 s of now) and X-Sms-Signature (hex HMAC-SHA256 of "<timestamp>\\n<body>" with the
key's secret) answers {"code":0,"message":"OK","results":[{"phone":…,"msg_id":…}]}, or a
non-zero code with the reason (401 signature, 400 a field). 50 ms later each number's report is
POSTed to the callback as [{"msg_id":…,"phone":…,"status":"DELIVERED"|"UNDELIVERED"}]; the
callback must answer {"code":0} (else it is retried three times).
"""

import argparse
import hashlib
import hmac
import itertools
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ids = itertools.count(1)
lock = threading.Lock()


def log(args, **event):
    with lock, open(args.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(event, ensure_ascii=False) + "\n")


def push_reports(args, reports):
    for attempt in range(1, 4):
        try:
            request = urllib.request.Request(args.callback, data=json.dumps(reports).encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(request, timeout=5) as answer:
                acked = json.loads(answer.read() or b"{}").get("code") == 0
        except Exception as e:  # a callback that is down is retried
            log(args, event="report_failed", attempt=attempt, reason=str(e))
            acked = False
        log(args, event="report", reports=reports, acked=acked, attempt=attempt)
        if acked:
            return
        time.sleep(0.2)


def handler(args):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, status, body):
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if self.path != "/v1/sms/send":
                return self.answer(404, {"code": 404, "message": "no such API"})
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("X-Sms-Key", "")
            stamp = self.headers.get("X-Sms-Timestamp", "")
            secret = args.keys.get(key)
            expected = secret and hmac.new(secret.encode(), stamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
            if not expected or not fresh or not hmac.compare_digest(expected, self.headers.get("X-Sms-Signature", "")):
                log(args, event="refused", reason="signature")
                return self.answer(401, {"code": 401, "message": "signature does not match (key, secret or clock)"})
            try:
                request = json.loads(body)
                phones = request["phone_numbers"]
                sign, template, params = request["sign_name"], request["template_code"], request["template_param"]
                assert isinstance(phones, list) and phones and all(isinstance(p, str) and p.isdigit() for p in phones)
            except (ValueError, KeyError, AssertionError, TypeError) as e:
                log(args, event="refused", reason="fields")
                return self.answer(400, {"code": 400, "message": "bad request: %s" % e})
            results = [{"phone": p, "msg_id": "m%06d" % next(ids)} for p in phones]
            log(args, event="send", sign_name=sign, template_code=template, template_param=params,
                out_id=request.get("out_id"), results=results)
            self.answer(200, {"code": 0, "message": "OK", "results": results})
            if args.callback:
                reports = [{"msg_id": r["msg_id"], "phone": r["phone"],
                            "status": "UNDELIVERED" if r["phone"] in args.undeliverable else "DELIVERED"}
                           for r in results]
                threading.Timer(0.05, push_reports, (args, reports)).start()

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--key", action="append", default=[], help="KEY:SECRET")
    parser.add_argument("--callback")
    parser.add_argument("--undeliverable", action="append", default=[])
    args = parser.parse_args()
    args.keys = dict(k.split(":", 1) for k in args.key)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(args))
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
