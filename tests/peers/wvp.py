#!/usr/bin/env python3
"""A wvp-GB28181-pro platform's HTTP API (the 2.7.4 shapes), with Python's standard library only.

It answers what the console calls, with the platform's real field names and envelope
({code, msg, data}; HTTP 401 {code: 401} for a missing or stale token; code 100 for a refused
login, an unknown device or channel):

    GET /api/user/login?username=&password=<md5 hex>         -> data.accessToken
    GET /api/device/query/devices?page=&count=                -> PageInfo of Device
    GET /api/device/query/devices/{deviceId}/channels?page=&count=
    GET /api/play/start/{deviceId}/{channelId}                -> StreamContent (rtsp, flv, ...)
    GET /api/play/stop/{deviceId}/{channelId}
    GET /api/front-end/ptz/{deviceId}/{channelId}?command=&horizonSpeed=&verticalSpeed=&zoomSpeed=
    GET /api/front-end/preset/query|add|call/{deviceId}/{channelId}[?presetId=1..255]

Its directory: device 34020000001320000001 (online) with three channels — ...001 a dome
(ptzType 1, ON), ...002 a fixed bullet (ptzType 3, ON, GCJ-02 position as the platform stores
it), ...003 OFF — and device 34020000001320000002 (offline) with one channel. With --many N it
lists N more channels over devices of 250 channels each (three pages of 100). Positions are GCJ-02. A channel's stream is
`--rtsp/{deviceId}_{channelId}` (ZLMediaKit's stream id), so a real RTSP server serves it;
channels listed in --refuse answer play with code -1 "信令超时" as wvp does when a device does
not answer the INVITE.

Test controls (not wvp's): POST /control/expire drops every token (the next call is 401),
POST /control/remove/{channelId} takes a channel off the directory, POST /control/rtsp?base=URL
moves its streams to another RTSP server (as a platform whose media server restarted),
POST /control/password?new=P changes the account's password (and drops every token).

Logs JSON lines to --log (login, start, stop, ptz, preset, preset_query, unauthorized); prints `LISTENING <port>` first.
"""

import argparse
import hashlib
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

args = None
lock = threading.Lock()
tokens = set()
devices = []  # [{device fields..., "channels": [channel fields...]}]
presets = {}  # channel id -> {number: name}


def log(event, **fields):
    fields["event"] = event
    fields["t"] = time.time()
    with lock:
        with open(args.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(fields, ensure_ascii=False) + "\n")


def device(device_id, name, online):
    return {"id": len(devices) + 1, "deviceId": device_id, "name": name, "manufacturer": "Hikvision",
            "model": "DS-9616N", "firmware": "V4.1", "transport": "UDP", "streamMode": "TCP-PASSIVE",
            "ip": "10.20.0.%d" % (len(devices) + 10), "port": 5060, "onLine": online,
            "registerTimeStamp": 1733000000000, "keepaliveTimeStamp": 1733000060000, "channelCount": 0,
            "expires": 3600, "mediaServerId": "zlmediakit-local", "charset": "GB2312", "geoCoordSys": "WGS84",
            "serverId": "000000", "channels": []}


def channel(device_id, channel_id, name, status, ptz_type, lon, lat):
    return {"id": 0, "deviceId": channel_id, "parentDeviceId": device_id, "name": name,
            "manufacturer": "Hikvision", "civilCode": "3301100001", "parentId": device_id, "parental": 0,
            "status": status, "longitude": lon, "latitude": lat, "ptzType": ptz_type,
            "ptzTypeText": {1: "球机", 3: "固定枪机"}.get(ptz_type, "未知"), "hasAudio": False, "subCount": 0,
            "channelType": 0, "streamId": None, "dataDeviceId": 1, "dataType": 1, "gbDeviceId": None,
            "gbStatus": None}


def build_directory():
    d1 = device("34020000001320000001", "青溪村委会NVR", True)
    d1["channels"] = [
        channel(d1["deviceId"], "34020000001310000001", "村委会广场球机", "ON", 1, 120.0030, 30.1370),
        # Positions as the platform keeps them, in GCJ-02 (picked on a Chinese web map): this
        # one is 120.0040, 30.1365 in WGS-84.
        channel(d1["deviceId"], "34020000001310000002", "村口枪机", "ON", 3, 120.008682, 30.134048),
        channel(d1["deviceId"], "34020000001310000003", "河道枪机", "OFF", 3, 120.01, 30.14),
    ]
    d2 = device("34020000001320000002", "东岭村NVR", False)
    d2["channels"] = [channel(d2["deviceId"], "34020000001310000004", "东岭路口", "ON", 3, None, None)]
    devices.extend([d1, d2])
    n = 0
    while n < args.many:
        d = device("3402000000132%07d" % (100 + len(devices)), "批量NVR%d" % len(devices), True)
        for _ in range(min(250, args.many - n)):
            n += 1
            d["channels"].append(channel(d["deviceId"], "3402000000131%07d" % (1000 + n), "批量通道%d" % n,
                                         "ON" if n % 10 else "OFF", 1 if n % 4 == 0 else 3,
                                         119.95 + (n % 100) / 1000, 30.10 + (n // 100) / 1000))
        devices.append(d)
    for d in devices:
        d["channelCount"] = len(d["channels"])


def page_of(items, query):
    page = int(query.get("page", ["1"])[0])
    count = int(query.get("count", ["15"])[0])
    start = (page - 1) * count
    part = items[start:start + count]
    pages = (len(items) + count - 1) // count
    return {"total": len(items), "list": part, "pageNum": page, "pageSize": count, "size": len(part),
            "pages": pages, "isFirstPage": page == 1, "isLastPage": page >= pages,
            "hasPreviousPage": page > 1, "hasNextPage": page < pages}


def find(device_id, channel_id=None):
    for d in devices:
        if d["deviceId"] == device_id:
            if channel_id is None:
                return d, None
            for c in d["channels"]:
                if c["deviceId"] == channel_id:
                    return d, c
            return d, None
    return None, None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, body, status=200):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def ok(self, data):
        self.answer({"code": 0, "msg": "成功", "data": data})

    def fail(self, code, msg):
        self.answer({"code": code, "msg": msg, "data": None})

    def do_POST(self):
        path = urlparse(self.path).path
        if path == "/control/password":
            with lock:
                args.password = parse_qs(urlparse(self.path).query)["new"][0]
                tokens.clear()
            return self.ok(None)
        if path == "/control/rtsp":
            args.rtsp = parse_qs(urlparse(self.path).query)["base"][0]
            return self.ok(None)
        if path == "/control/expire":
            with lock:
                tokens.clear()
            return self.ok(None)
        if path.startswith("/control/remove/"):
            gone = path.rsplit("/", 1)[1]
            with lock:
                for d in devices:
                    d["channels"] = [c for c in d["channels"] if c["deviceId"] != gone]
            return self.ok(None)
        self.answer({"code": 404, "msg": "资源未找到"}, 404)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if url.path == "/api/user/login":
            user = query.get("username", [""])[0]
            password = query.get("password", [""])[0]
            if user != args.user or password != hashlib.md5(args.password.encode()).hexdigest():
                log("login", ok=False)
                return self.fail(100, "用户名或密码错误")
            token = secrets.token_hex(16)
            with lock:
                tokens.add(token)
            log("login", ok=True)
            return self.ok({"accessToken": token, "serverId": "000000", "username": user, "id": 1,
                            "pushKey": "3e80d1762a324d5b0ff636e0bd16f1e3", "enabled": True})
        with lock:
            known = self.headers.get("access-token") in tokens
        if not known:
            log("unauthorized", path=url.path)
            return self.answer({"code": 401, "msg": "请登录后重新请求"}, 401)
        if url.path == "/api/device/query/devices":
            listed = [{k: v for k, v in d.items() if k != "channels"} for d in devices]
            return self.ok(page_of(listed, query))
        if parts[:4] == ["api", "device", "query", "devices"] and len(parts) == 6 and parts[5] == "channels":
            d, _ = find(parts[4])
            if d is None:
                return self.fail(100, "未找到设备：" + parts[4])
            return self.ok(page_of(d["channels"], query))
        if parts[:2] == ["api", "play"] and len(parts) == 5 and parts[2] in ("start", "stop"):
            d, c = find(parts[3], parts[4])
            if d is None:
                return self.fail(100, "设备不存在")
            if c is None:
                return self.fail(100, "通道不存在")
            log(parts[2], device=parts[3], channel=parts[4])
            if parts[2] == "stop":
                return self.ok({"deviceId": parts[3], "channelId": parts[4]})
            if c["deviceId"] in args.refuse or not d["onLine"] or c["status"] != "ON":
                return self.fail(-1, "信令超时")
            stream = "%s_%s" % (parts[3], parts[4])
            host = "127.0.0.1:%d" % self.server.server_address[1]
            return self.ok({"app": "rtp", "stream": stream, "ip": None,
                            "flv": "http://%s/rtp/%s.live.flv" % (host, stream), "https_flv": None,
                            "ws_flv": "ws://%s/rtp/%s.live.flv" % (host, stream),
                            "hls": "http://%s/rtp/%s/hls.m3u8" % (host, stream),
                            "rtsp": "%s/%s" % (args.rtsp, stream), "rtsps": None,
                            "rtmp": "rtmp://127.0.0.1:1935/rtp/%s" % stream,
                            "rtc": "http://%s/index/api/webrtc?app=rtp&stream=%s&type=play" % (host, stream),
                            "mediaServerId": "zlmediakit-local", "mediaInfo": None, "progress": 0.0,
                            "serverId": "000000"})
        if parts[:3] == ["api", "front-end", "preset"] and len(parts) == 6:
            d, c = find(parts[4], parts[5])
            if d is None or c is None:
                return self.fail(100, "设备[%s]不存在" % parts[4])
            kept = presets.setdefault(c["deviceId"], {})
            if parts[3] == "query":
                log("preset_query", device=parts[4], channel=parts[5])
                return self.ok([{"presetId": str(n), "presetName": name} for n, name in sorted(kept.items())])
            number = query.get("presetId", [""])[0]
            if not number.isdigit() or not 1 <= int(number) <= 255:
                return self.fail(100, "预置位编号必须为1-255之间的数字")
            log("preset", device=parts[4], channel=parts[5], verb=parts[3], number=int(number))
            if parts[3] == "add":
                kept[int(number)] = "Preset%s" % number
            return self.ok(None)
        if parts[:3] == ["api", "front-end", "ptz"] and len(parts) == 5:
            d, c = find(parts[3], parts[4])
            if d is None or c is None:
                return self.fail(100, "设备[%s]不存在" % parts[3])
            command = query.get("command", [""])[0]
            speeds = {k: int(query.get(k, ["-1"])[0]) for k in ("horizonSpeed", "verticalSpeed", "zoomSpeed")}
            log("ptz", device=parts[3], channel=parts[4], command=command, **speeds)
            return self.ok(None)
        self.answer({"code": 404, "msg": "资源未找到"}, 404)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="admin")
    p.add_argument("--rtsp", required=True, help="base of the stream URLs, e.g. rtsp://127.0.0.1:8554/cam")
    p.add_argument("--refuse", action="append", default=[], help="a channel whose play answers code -1")
    p.add_argument("--many", type=int, default=0, help="this many more channels")
    args = p.parse_args()
    build_directory()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
