#!/usr/bin/python3
"""A meeting's site, or its listener, on Janus's VideoRoom: aiortc (Debian python3-aiortc).

    meeting_site.py site   --url U --room R --id N --token T --display NAME --clip FILE [--feeds 101,102] --ice-ip IP --log F
    meeting_site.py listen --url U --room R [--token T] --feeds 101,102 --ice-ip IP --log F

A site joins as a publisher with its participant id and token and sends the clip as it is
(H.264 and Opus packets, no re-encoding: MediaPlayer(decode=False); the clip must carry H.264
as Annex B, as MPEG-TS does).  After a kick it tries once
to join again and logs what Janus said. With --feeds it also receives those feeds as itself
(its private id), as a listener does. A listener subscribes to the feeds and logs, every
second, how many audio packets of each it received (what the SFU forwards, whatever the sites
send) and how many pictures of each it decoded; with --token it first joins as a participant
that sends nothing and subscribes as that participant (a room with require_pvtid asks for it).
A refused join or subscription is logged as "refused" with Janus's code. Log lines are JSON with
an "event". Run with Debian's /usr/bin/python3 (python3-aiortc).

Janus 1.1.2 offers no loopback candidate, so both sides use the machine's own address
(--ice-ip): the packets never leave the machine. No STUN, no TURN, no trickle.
"""
import argparse
import asyncio
import json
import sys
import threading
import time
import urllib.request
import uuid

import aioice.ice

LOG = None


def log(event, **fields):
    LOG.write(json.dumps({"event": event, "t": round(time.time(), 3), **fields}) + "\n")
    LOG.flush()


def http(method, url, body=None, timeout=10.0):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


class Refused(Exception):
    def __init__(self, code, reason):
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


class Janus:
    """A session: requests by POST, events by a long poll in a daemon thread."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.waiting = {}
        self.events = asyncio.Queue()

    async def post(self, path, body):
        body.setdefault("transaction", uuid.uuid4().hex[:12])
        answer = await asyncio.to_thread(http, "POST", self.url + path, body)
        if answer.get("janus") == "error":
            raise Refused(answer["error"].get("code"), answer["error"].get("reason"))
        return answer

    async def open(self):
        self.session = (await self.post("", {"janus": "create"}))["data"]["id"]
        self.loop = asyncio.get_running_loop()
        threading.Thread(target=self.poll, daemon=True).start()

    async def attach(self):
        answer = await self.post(f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return answer["data"]["id"]

    async def message(self, handle, body, jsep=None):
        transaction = uuid.uuid4().hex[:12]
        future = self.loop.create_future()
        self.waiting[transaction] = future
        message = {"janus": "message", "transaction": transaction, "body": body}
        if jsep:
            message["jsep"] = jsep
        await self.post(f"/{self.session}/{handle}", message)
        event = await asyncio.wait_for(future, 20)
        data = event["plugindata"]["data"]
        if "error_code" in data:
            raise Refused(data["error_code"], data.get("error"))
        return event

    def poll(self):
        while True:
            try:
                events = http("GET", f"{self.url}/{self.session}?maxev=10&rid={time.time()}", None, 40)
            except Exception:  # noqa: BLE001 — Janus gone: the test kills us
                time.sleep(0.5)
                continue
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") != "keepalive":
                    self.loop.call_soon_threadsafe(self.dispatch, event)

    def dispatch(self, event):
        future = self.waiting.pop(event.get("transaction"), None)
        if future and not future.done():
            future.set_result(event)
        else:
            self.events.put_nowait(event)


def connection():
    from aiortc import RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def join(janus, a):
    """Joins as a publisher and publishes the clip; returns the peer connection and its private id."""
    from aiortc import RTCSessionDescription
    from aiortc.contrib.media import MediaPlayer

    handle = await janus.attach()
    janus.publisher = handle
    body = {"request": "join", "ptype": "publisher", "room": a.room, "id": a.id, "display": a.display, "token": a.token}
    joined = await janus.message(handle, body)
    pc = connection()
    player = MediaPlayer(a.clip, decode=False)
    pc.addTrack(player.audio)
    pc.addTrack(player.video)
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False}
    event = await janus.message(handle, {"request": "configure", "audio": True, "video": True}, jsep=offer)
    await pc.setRemoteDescription(RTCSessionDescription(**event["jsep"]))
    log("publishing", streams=event["plugindata"]["data"].get("streams", []))
    return pc, joined["plugindata"]["data"].get("private_id")


async def site(a):
    janus = Janus(a.url)
    await janus.open()
    try:
        pc, private_id = await join(janus, a)
    except Refused as e:
        log("refused", code=e.code, reason=e.reason)
        return
    if a.feeds:
        asyncio.ensure_future(receiving(janus, a, private_id))
    kicked = False
    while True:
        event = await janus.events.get()
        if event.get("sender") != janus.publisher:
            continue  # its receiving's, not its sending's
        if event.get("janus") == "webrtcup":
            log("webrtcup")
        data = event.get("plugindata", {}).get("data", {})
        if "moderation" in data:
            log("moderation", mid=data.get("mid"), state=data["moderation"])
        if not kicked and (data.get("leaving") == "ok" and data.get("reason") == "kicked" or data.get("kicked") == a.id):
            kicked = True
            log("kicked")
            await pc.close()
            try:
                pc, _ = await join(janus, a)
                log("rejoined")
            except Refused as e:
                log("refused", code=e.code, reason=e.reason)


async def listen(a):
    janus = Janus(a.url)
    await janus.open()
    try:
        private_id = None
        if a.token:
            # A participant of its own that sends nothing: what the subscription belongs to.
            owner = await janus.attach()
            body = {"request": "join", "ptype": "publisher", "room": a.room, "display": "listener", "token": a.token}
            private_id = (await janus.message(owner, body))["plugindata"]["data"]["private_id"]
        await receive(janus, a, private_id, await janus.attach())
    except Refused as e:
        log("refused", code=e.code, reason=e.reason)


async def receiving(janus, a, private_id):
    """A site's receiving: asks again while a feed is not in the room yet (Janus's 428)."""
    handle = await janus.attach()
    while True:
        try:
            return await receive(janus, a, private_id, handle)
        except Refused as e:
            if e.code != 428:
                log("refused", code=e.code, reason=e.reason)
                return
            await asyncio.sleep(0.5)


async def receive(janus, a, private_id, handle):
    """Subscribes to --feeds on handle (as the participant with private_id, if any) and logs
    every second what arrived."""
    from aiortc import RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    feeds = [int(f) for f in a.feeds.split(",")]
    body = {"request": "join", "ptype": "subscriber", "room": a.room, "streams": [{"feed": f} for f in feeds]}
    if private_id is not None:
        body["private_id"] = private_id
    event = await janus.message(handle, body)
    streams = event["plugindata"]["data"]["streams"]
    feed_of = {s["mid"]: s.get("feed_id") for s in streams if s.get("type") == "audio"}
    picture_of = {s["mid"]: s.get("feed_id") for s in streams if s.get("type") == "video"}
    pc = connection()
    frames = {}
    sizes = {}

    async def drain(track):
        mid = next((t.mid for t in pc.getTransceivers() if t.receiver.track is track), None)
        feed = str(picture_of.get(mid))
        while True:
            try:
                picture = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                frames[feed] = frames.get(feed, 0) + 1
                sizes[feed] = f"{picture.width}x{picture.height}"

    pc.on("track", lambda track: asyncio.ensure_future(drain(track)))
    await pc.setRemoteDescription(RTCSessionDescription(**event["jsep"]))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = {"type": "answer", "sdp": pc.localDescription.sdp, "trickle": False}
    await janus.message(handle, {"request": "start"}, jsep=answer)
    log("listening", feeds=feed_of)
    last = {}
    while True:
        await asyncio.sleep(1.0)
        counts = {}
        for transceiver in pc.getTransceivers():
            feed = feed_of.get(transceiver.mid)
            if feed is None:
                continue
            received = sum(s.packetsReceived for s in (await transceiver.receiver.getStats()).values() if s.type == "inbound-rtp")
            counts[str(feed)] = received - last.get(feed, 0)
            last[feed] = received
        log("audio", packets=counts, pictures=dict(frames), sizes=dict(sizes))
        frames.clear()


def main():
    global LOG
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["site", "listen"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--room", type=int, required=True)
    parser.add_argument("--id", type=int)
    parser.add_argument("--token")
    parser.add_argument("--display", default="site")
    parser.add_argument("--clip")
    parser.add_argument("--feeds")
    parser.add_argument("--ice-ip", required=True)
    parser.add_argument("--log", required=True)
    a = parser.parse_args()
    LOG = open(a.log, "a")
    # aioice gathers every interface's address but loopback's; only this one, and no STUN.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [a.ice_ip]
    asyncio.run(site(a) if a.mode == "site" else listen(a))


if __name__ == "__main__":
    sys.exit(main())
