//! End-to-end tests of linkage against real peers (see `tests/`): RTSP served by an in-process
//! gstreamer-rtsp-server, the hub over real WebSockets on loopback.
