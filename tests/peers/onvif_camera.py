#!/usr/bin/env python3
"""An ONVIF camera nobody on linkage wrote: PyPI's ipycam (a virtual IP camera with ONVIF
Device, Media and PTZ services, WS-Security UsernameToken, digital PTZ and presets, its own RTSP
server over ffmpeg), on loopback, fed a moving test picture.

Only what a test on this machine needs is set around it: its WS-Discovery responder (UDP
multicast, which would leave the machine) is replaced by one that does nothing, every address it
advertises is 127.0.0.1, its presets file lives in --dir. Its PTZ position is logged to --log as
JSON lines (`{"event": "ptz", "pan": …, "tilt": …, "zoom": …, "moving": …}`) each time it changes, so a test
can see the camera turn without asking it. Prints `LISTENING <onvif port>` once the ONVIF
service answers.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time

import numpy as np

import ipycam.camera as camera_module


class NoDiscovery:
    """WS-Discovery answers multicast probes from the network: not on a test machine."""

    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        pass

    def stop(self):
        pass

    def join(self, *args, **kwargs):
        pass


camera_module.WSDiscoveryServer = NoDiscovery

from ipycam import CameraConfig, IPCamera  # noqa: E402  (after the stub is in place)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(path, event, **fields):
    fields["event"] = event
    fields["t"] = time.time()
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(fields) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--dir", required=True, help="its working folder (presets file)")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="admin")
    args = p.parse_args()
    os.chdir(args.dir)
    onvif_port = args.port or free_port()
    config = CameraConfig(
        name="Test PTZ",
        local_ip="127.0.0.1",
        onvif_port=onvif_port,
        rtsp_port=free_port(),
        web_port=free_port(),
        go2rtc_api_port=free_port(),
        rtmp_port=free_port(),
        username=args.user,
        password=args.password,
        main_width=640,
        main_height=360,
        main_fps=10,
        main_bitrate="500K",
        sub_width=320,
        sub_height=180,
        sub_fps=10,
        sub_bitrate="200K",
    )
    camera = IPCamera(config)
    if not camera.start():
        print("ipycam did not start", file=sys.stderr)
        return 1

    def watch_ptz():
        last = None
        while True:
            status = camera.ptz.get_status()
            # Moving or not is part of what changes: a stop that leaves the position where the
            # last line had it must still be logged, or the log says "moving" for ever.
            now = (round(status["pan"], 3), round(status["tilt"], 3), round(status["zoom"], 3), status["moving"])
            if now != last:
                log(args.log, "ptz", pan=now[0], tilt=now[1], zoom=now[2], moving=now[3])
                last = now
            time.sleep(0.1)

    threading.Thread(target=watch_ptz, daemon=True).start()
    while True:
        try:
            socket.create_connection(("127.0.0.1", onvif_port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    print("LISTENING %d" % onvif_port, flush=True)
    # A scene with something to see wherever the camera looks: a grid of coloured squares,
    # scrolling.
    height, width = 360, 640
    ys, xs = np.mgrid[0:height, 0:width]
    n = 0
    while True:
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        frame[..., 0] = ((xs + n * 4) // 40 % 2) * 200
        frame[..., 1] = ((ys // 40) % 2) * 200
        frame[..., 2] = (xs * 255 // width).astype(np.uint8)
        camera.stream(frame)
        n += 1


if __name__ == "__main__":
    sys.exit(main())
