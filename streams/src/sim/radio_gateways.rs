//! Simulated radio-over-IP gateways: one UDP socket per talk-group address, taking the RTP
//! G.711 calls the console sends and logging each call (its SSRC, packets, length) when it
//! ends — what a real gateway would key onto the air.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

/// A call ends when no packet came for this long (the gateway's hang time).
const HANG_TIME: Duration = Duration::from_millis(800);

/// The running gateways; dropping this stops them.
pub struct RadioGateways {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RadioGateways {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl RadioGateways {
    /// Binds every address (each once) on `runtime`.
    pub fn start(addresses: &[SocketAddr], runtime: &tokio::runtime::Handle) -> Result<RadioGateways, String> {
        let mut tasks = vec![];
        let mut seen = vec![];
        for &addr in addresses {
            if seen.contains(&addr) {
                continue;
            }
            seen.push(addr);
            let socket = runtime
                .block_on(UdpSocket::bind(addr))
                .map_err(|e| format!("simulated radio gateway cannot listen on {addr}: {e}"))?;
            tasks.push(runtime.spawn(serve(socket, addr)));
        }
        Ok(RadioGateways { tasks })
    }
}

/// One call on the air: first packet, packets so far.
struct OnAir {
    since: Instant,
    last: Instant,
    packets: u32,
}

pub(crate) async fn serve(socket: UdpSocket, addr: SocketAddr) {
    let mut buf = [0u8; 2048];
    let mut calls: HashMap<u32, OnAir> = HashMap::new();
    loop {
        let received = tokio::time::timeout(HANG_TIME, socket.recv(&mut buf)).await;
        let now = Instant::now();
        if let Ok(Ok(n)) = received
            && n >= 12
            && buf[0] >> 6 == 2
        {
            let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
            let call = calls.entry(ssrc).or_insert(OnAir { since: now, last: now, packets: 0 });
            call.last = now;
            call.packets += 1;
        }
        calls.retain(|ssrc, call| {
            let over = now.duration_since(call.last) >= HANG_TIME;
            if over {
                let secs = call.last.duration_since(call.since).as_secs_f32();
                tracing::info!(gateway = %addr, ssrc = format!("{ssrc:08x}"), packets = call.packets, secs, "radio call on the air");
            }
            !over
        });
    }
}
