//! `make bench-hub`: sustained ingest through the hub with 10 subscribed consoles on loopback.
//!
//! Publishers (field terminals) send reports as fast as the hub acknowledges them, with a
//! window of reports in flight each; every console receives every event. Each report carries
//! its send time (nanoseconds since the bench started, in its text), so every console measures
//! publish-to-receive latency itself. A console the hub cuts off for being slow (or that
//! loses its link) before it has every event counts in `cut`: its missing events would
//! otherwise leave the p99 unseen. Prints, last:
//! `hub-bench clients=10 events_per_s=E p99_ms=P cut=K`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use streams::feed::{Body, Envelope, Grant, Hub, HubConfig, Role};
use tokio_tungstenite::tungstenite::Message;

const CONSOLES: usize = 10;
const PUBLISHERS: usize = 4;
const IN_FLIGHT: usize = 64;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn hello(
    url: &str,
    token: &str,
    role: Role,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await.expect("connect");
    ws.send(Message::text(Envelope::new(1, Body::Hello { token: token.into(), role, since: 0 }).to_text()))
        .await
        .expect("hello");
    ws
}

fn report(n: usize, publisher: usize, sent_ns: u128) -> String {
    format!(
        r#"{{"v":1,"seq":{n},"time":"2026-11-28T08:00:00Z","kind":"report","body":{{"report_id":"p{publisher}-{n}","kind":"dispute","severity":"low","location":{{"lon":120.0,"lat":30.13}},"reporter":"bench{publisher}","source":"field","text":"{sent_ns}"}}}}"#
    )
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a quick smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let events = if smoke { 400 } else { env_usize("EVENTS", 40_000) };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tokens = HashMap::from([
        ("console".to_string(), Grant::new(Role::Console, "bench console")),
        // The bench measures the hub's capacity, not a terminal's allowance.
        ("field".to_string(), Grant { per_second: u32::MAX, ..Grant::new(Role::FieldTerminal, "bench field") }),
    ]);
    let base = Instant::now();
    let (rate, p50, p99, cut) = runtime.block_on(async move {
        let hub = Hub::start(HubConfig::on_loopback(dir.path(), tokens)).await.unwrap();
        let url = hub.url();
        let mut consoles = vec![];
        for _ in 0..CONSOLES {
            let mut ws = hello(&url, "console", Role::Console).await;
            consoles.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(events);
                while latencies.len() < events {
                    let Some(Ok(Message::Text(t))) = ws.next().await else {
                        break;
                    };
                    match Envelope::parse(&t) {
                        Ok(Envelope { body: Body::IncidentReported(i), .. }) => {
                            if let Ok(sent) = i.report.text.parse::<u128>() {
                                latencies.push((base.elapsed().as_nanos() - sent) as f64 / 1e6);
                            }
                        }
                        Ok(Envelope { body: Body::Error { fatal: true, reason, .. }, .. }) => {
                            eprintln!("a console was cut off: {reason}");
                            break;
                        }
                        _ => {}
                    }
                }
                let cut = latencies.len() < events;
                (latencies, cut)
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let mut publishers = vec![];
        for p in 0..PUBLISHERS {
            let mut ws = hello(&url, "field", Role::FieldTerminal).await;
            let share = events / PUBLISHERS + usize::from(p < events % PUBLISHERS);
            publishers.push(tokio::spawn(async move {
                let (mut sent, mut acked) = (0, 0);
                while acked < share {
                    while sent < share && sent - acked < IN_FLIGHT {
                        sent += 1;
                        ws.feed(Message::text(report(sent, p, base.elapsed().as_nanos()))).await.unwrap();
                    }
                    ws.flush().await.unwrap();
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) if t.contains("incident_reported") => acked += 1,
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
            }));
        }
        for p in publishers {
            p.await.unwrap();
        }
        let (mut all, mut cut) = (vec![], 0);
        for c in consoles {
            let (latencies, was_cut) = c.await.unwrap();
            all.extend(latencies);
            cut += usize::from(was_cut);
        }
        let elapsed = started.elapsed().as_secs_f64();
        all.sort_by(|a, b| a.total_cmp(b));
        let q = |f: f64| {
            all.get(((all.len() as f64 * f) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(f64::NAN)
        };
        (events as f64 / elapsed, q(0.5), q(0.99), cut)
    });
    println!("events={events} consoles={CONSOLES} publishers={PUBLISHERS} p50_ms={p50:.2}");
    println!("hub-bench clients={CONSOLES} events_per_s={rate:.0} p99_ms={p99:.2} cut={cut}");
}
