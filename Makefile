# linkage — the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Exactly what building, testing and running the demo need on Debian 12.
BUILD_PACKAGES := build-essential pkg-config libglib2.0-dev libgstreamer1.0-dev \
  libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev libgstrtspserver-1.0-dev \
  libsqlite3-dev
RUN_PACKAGES := libsqlite3-0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x gstreamer1.0-tools \
  libvulkan1 mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1 libglx-mesa0 libgl1-mesa-dri \
  libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0 libwayland-client0 \
  fonts-noto-cjk espeak-ng janus gstreamer1.0-nice
HEADLESS_PACKAGES := xvfb xauth imagemagick xdotool
# Independent peers for the video tests: ffmpeg (RTMP and HTTP-FLV server, HLS packager) and
# Python's http.server (serves the HLS playlist); curl, a client of the hub's files endpoint;
# baresip (a SIP radio gateway that answers and records what it hears), SIPp (a gateway that
# asks for digest credentials) and sox (measures the recording); aiortc (a meeting's sites and
# listener on Janus) and iproute2 (the machine's own address, where Janus offers media);
# chromium with Janus's janus.js and the WebRTC adapter (a meeting's site in a browser).
TEST_PACKAGES := ffmpeg python3 curl baresip-core sip-tester sox python3-aiortc iproute2 nats-server \
  chromium libjs-janus-gateway libjs-webrtc-adapter
PACKAGES := $(BUILD_PACKAGES) $(RUN_PACKAGES) $(HEADLESS_PACKAGES) $(TEST_PACKAGES)

.PHONY: deps deb run-packages demo demo-unit test bench bench-hub bench-wall bench-upload bench-map bench-dispatch bench-meeting bench-county bench-county-planned lint

## deps: install the Debian packages that are missing (idempotent; apt runs only when needed)
deps:
	@missing=$$(for p in $(PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "deps: all Debian packages present"; fi
	@# The test peers that are not ours (an SMSC on the npm smpp package): Node from Debian if
	@# the machine has none, then the locked packages.
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm
	@[ -d tests/peers/node_modules/smpp ] || npm ci --prefix tests/peers --no-audit --no-fund
	@# PyPI's cmppy: a CMPP client nobody on linkage wrote, to check the CMPP gateway simulator.
	@python3 -c "import cmppy" 2>/dev/null || python3 -m pip install --quiet --root-user-action=ignore cmppy==0.3
	@# PyPI's smpp34: a second SMSC (a Rust/tokio engine) beside the npm one.
	@python3 -c "import smpp34" 2>/dev/null || python3 -m pip install --quiet --root-user-action=ignore smpp34==1.5.0
	@# PyPI's ipycam: an ONVIF camera (device, media, PTZ, presets, WS-Security) nobody on linkage
	@# wrote, on numpy and OpenCV (headless: ipycam draws nothing on a screen).
	@python3 -c "import ipycam, numpy, cv2" 2>/dev/null || python3 -m pip install --quiet --root-user-action=ignore \
	  "numpy>=1.24,<3" "opencv-python-headless>=4.8,<5" && python3 -m pip install --quiet --root-user-action=ignore --no-deps ipycam==1.3.0

## deb: the Debian package (release build): target/deb/linkage_VERSION_ARCH.deb
deb:
	$(CARGO) build --release -p linkage
	packaging/deb.sh target/release/linkage target/deb

## run-packages: the Debian packages the program runs on (the package's Depends)
run-packages:
	@echo $(RUN_PACKAGES)

## demo: build in release and open the console on the demo township
demo: deps
	$(CARGO) build --release --workspace
	./target/release/linkage

## demo-unit: a linked unit's seat (the justice office) beside a running `make demo`
demo-unit:
	./target/release/linkage --unit justice

## test: formatting, lints (warnings fail), and every test; with the wgpu renderer built in,
## so that its picture path is tested too (kittest's snapshots build wgpu anyway)
test: deps lint
	$(CARGO) test --workspace --all-targets --features linkage/wgpu
	$(CARGO) test --workspace --doc

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets --features linkage/wgpu -- -D warnings

## bench: every benchmark (release build; numbers, not pass/fail)
bench: bench-hub bench-wall bench-upload bench-map bench-dispatch bench-meeting bench-county

## bench-hub: sustained ingest with 10 subscribed consoles; last line `hub-bench clients=10 …`
bench-hub: deps
	$(CARGO) bench -p linkage-tests --bench hub

## bench-wall: 9 sub streams and 1 main stream (FEEDS=16: 15 + 1) over loopback RTSP through
## our decode path, then through the decoder alone; last line `wall-bench feeds=10 …`
bench-wall: deps
	$(CARGO) bench -p linkage-tests --bench wall

## bench-upload: the wall's decoded pictures (9 × D1 + 1 × 1080p, all new each frame) uploaded and drawn
## by the wgpu renderer, against the same frames unchanged; last line `upload-bench tiles=10 …`
bench-upload: deps
	$(CARGO) bench -p linkage --bench upload --features wgpu

## bench-map: one map frame (UI pass + tessellation) with 100k incidents, 2000 grids, 5000 cameras,
## the filter on and the demo basemap; last line `map-bench …`
bench-map: deps
	$(CARGO) bench -p linkage --bench map

## bench-dispatch: click to every channel of every unit sent, 100 orders paced and 100 in a burst, against loopback
## peers (hub, SMSC, radio gateways); last line `dispatch-bench orders=100 channels=3 …`
bench-dispatch: deps
	$(CARGO) bench -p linkage --bench dispatch

## bench-meeting: the console in a Janus room with 6 sites sending 640×360 at 25 fps, sending its own;
## last line `meeting-bench sites=6 …`
bench-meeting: deps
	$(CARGO) bench -p linkage --bench meeting

## bench-county: 10 townships reporting through 2 county gateways into a 3-node JetStream cluster, 20 seats,
## the stream's leader killed once; last line `county-bench townships=10 consoles=20 …`
bench-county: deps
	$(CARGO) bench -p linkage --bench county

## bench-county-planned: the same, the leader stopped as a planned restart stops it (lame duck mode);
## last line `county-bench-planned townships=10 consoles=20 …`
bench-county-planned: deps
	$(CARGO) bench -p linkage --bench county -- --planned
