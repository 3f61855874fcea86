//! The hub against real WebSocket clients on loopback.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use geo::{Contains, Point, polygon};
use streams::feed::{
    Body, CameraAction, CameraUse, Change, Envelope, ErrorCode, FeedClient, FeedUpdate, Grant, Hub, HubConfig,
    HubHandle, IncidentStatus, IncidentUpdate, Limits, MAX_FRAME_BYTES, OrderChange, Role, SeatRole, close,
};
use streams::sim::grid_workers::{GridWorkerSim, SimGrid, SimKind};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const CONSOLE: &str = "console-token";
const FIELD: &str = "field-token";
const BRIDGE: &str = "bridge-token";
/// A field terminal allowed 5 messages a second (bursts of 50).
const SLOW_HANDHELD: &str = "slow-handheld-token";
/// A bridge with no rate limit, to flood the hub.
const FLOOD: &str = "flood-token";
const DISPATCHER: &str = "dispatcher-token";
const CENTER: &str = "center-token";
/// A seat of the on-call staff (值守): watches, may not chair.
const ON_CALL: &str = "on-call-token";

async fn hub(dir: &tempfile::TempDir) -> HubHandle {
    hub_with(dir, Limits::default()).await
}

async fn hub_with(dir: &tempfile::TempDir, limits: Limits) -> HubHandle {
    let tokens = HashMap::from([
        (CONSOLE.to_string(), Grant::new(Role::Console, "console")),
        (FIELD.to_string(), Grant::new(Role::FieldTerminal, "field")),
        (DISPATCHER.to_string(), Grant::new(Role::Dispatcher, "dispatcher")),
        ("police-terminal".to_string(), Grant::unit_terminal("police")),
        ("fire-terminal".to_string(), Grant::unit_terminal("fire")),
        (BRIDGE.to_string(), Grant::new(Role::Bridge, "110 bridge")),
        (SLOW_HANDHELD.to_string(), Grant { per_second: 5, ..Grant::new(Role::FieldTerminal, "old handheld") }),
        (FLOOD.to_string(), Grant { per_second: u32::MAX, ..Grant::new(Role::Bridge, "flood") }),
        (CENTER.to_string(), Grant::new(Role::Center, "center")),
        (ON_CALL.to_string(), Grant { seat: Some(SeatRole::OnCall), ..Grant::new(Role::Console, "on call") }),
    ]);
    Hub::start(HubConfig { limits, ..HubConfig::on_loopback(dir.path(), tokens) }).await.unwrap()
}

/// Waits for the next logged event from a client's updates.
async fn next_event(rx: &mut mpsc::UnboundedReceiver<FeedUpdate>) -> Envelope {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Some(FeedUpdate::Event(env)) = rx.recv().await {
                return env;
            }
        }
    })
    .await
    .expect("an event within 15 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_receives_the_incident_a_simulated_grid_worker_reported() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let area = polygon![(x: 120.0, y: 30.0), (x: 120.01, y: 30.0), (x: 120.01, y: 30.01), (x: 120.0, y: 30.01)];
    let _workers = GridWorkerSim {
        hub_url: hub.url(),
        token: FIELD.into(),
        grids: vec![SimGrid { code: "XL-01".into(), worker: "王芳".into(), area: area.clone().into() }],
        kinds: vec![SimKind {
            code: "fire".into(),
            weight: 1,
            severity_weights: [0, 0, 0, 1],
            texts: vec!["垃圾堆放点着火".into()],
        }],
        mean_gap: Duration::from_millis(100),
        seed: 1,
        backlog: 0,
    }
    .start(&tokio::runtime::Handle::current());

    let (tx, mut rx) = mpsc::unbounded_channel();
    let _console = FeedClient {
        url: hub.url(),
        token: CONSOLE.into(),
        role: Role::Console,
        since: 0,
        name: "test console".into(),
        trust: None,
    }
    .spawn(&tokio::runtime::Handle::current(), tx, streams::no_waker());
    let env = next_event(&mut rx).await;
    let Body::IncidentReported(incident) = env.body else { panic!("not an incident: {env:?}") };
    assert!(env.seq >= 1);
    assert_eq!(incident.report.kind, "fire");
    assert_eq!(incident.report.reporter, "王芳");
    assert_eq!(incident.report.text, "垃圾堆放点着火");
    let at = Point::new(incident.report.location.lon, incident.report.location.lat);
    assert!(area.contains(&at), "reported outside its grid: {at:?}");
}

/// A report frame as a terminal would write it by hand: JSON text, not our own serialiser.
fn report_frame(seq: u64, report_id: &str) -> Message {
    Message::text(format!(
        r#"{{"v":1,"seq":{seq},"time":"2026-11-28T08:00:00Z","kind":"report","body":{{"report_id":"{report_id}","kind":"dispute","severity":"low","location":{{"lon":120.0,"lat":30.0}},"reporter":"李娜","source":"field","text":"纠纷"}}}}"#
    ))
}

/// A raw WebSocket peer, to say exactly what a client says.
async fn raw(
    hub: &HubHandle,
    token: &str,
    role: Role,
    since: u64,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(hub.url()).await.unwrap();
    let hello = Envelope::new(1, Body::Hello { token: token.into(), role, since });
    ws.send(Message::text(hello.to_text())).await.unwrap();
    ws
}

/// A seat's raw connection, welcomed and replayed (an empty log).
async fn seat(
    hub: &HubHandle,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut ws = raw(hub, CONSOLE, Role::Console, 0).await;
    assert!(matches!(read(&mut ws).await.body, Body::Welcome { .. }));
    assert!(matches!(read(&mut ws).await.body, Body::Replayed { .. }));
    ws
}

/// A field terminal that said hello and was welcomed.
async fn field(
    hub: &HubHandle,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut ws = raw(hub, FIELD, Role::FieldTerminal, 0).await;
    assert!(matches!(read(&mut ws).await.body, Body::Welcome { .. }));
    ws
}

async fn read(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Envelope {
    loop {
        let msg =
            tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a frame").expect("open").unwrap();
        if let Message::Text(t) = msg {
            let env = Envelope::parse(&t).unwrap();
            if env.body != Body::Heartbeat {
                return env;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    // A field token used to claim the console role.
    let mut ws = raw(&hub, FIELD, Role::Console, 0).await;
    match read(&mut ws).await.body {
        Body::Error { code, fatal, reason, .. } => {
            assert_eq!(code, ErrorCode::Unauthorized);
            assert!(fatal && reason.contains("Console"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(closed_with(&mut ws).await, close::POLICY);
    assert_eq!(hub.refused(), 1);
}

/// The close code the hub ends the connection with (the next frame must be the close).
async fn closed_with(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a frame") {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Text(t))) if Envelope::parse(&t).map(|e| e.body) == Ok(Body::Heartbeat) => {}
            other => panic!("expected a close frame with a code, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_answered_too_large_then_closed_with_1009_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut ws = field(&hub).await;
    ws.send(report_frame(2, "before")).await.unwrap();
    assert!(matches!(read(&mut ws).await.body, Body::IncidentReported(_)));
    // A report whose text alone is 100 KiB: over the 64 KiB a frame may hold.
    let big = report_frame(3, "big").into_text().unwrap().replace("纠纷", &"纠".repeat(34_000));
    assert!(big.len() > MAX_FRAME_BYTES);
    ws.send(Message::text(big)).await.unwrap();
    match read(&mut ws).await.body {
        Body::Error { code, fatal, reason, .. } => {
            assert_eq!((code, fatal), (ErrorCode::TooLarge, true));
            assert!(reason.contains("65536"), "{reason}");
        }
        other => panic!("expected too_large, got {other:?}"),
    }
    assert_eq!(closed_with(&mut ws).await, close::TOO_BIG);
    // The report before it stays logged; the big one is not; the hub goes on.
    let mut again = field(&hub).await;
    again.send(report_frame(4, "after")).await.unwrap();
    let logged = read(&mut again).await;
    match logged.body {
        Body::IncidentReported(i) => assert_eq!((i.report.report_id.as_str(), logged.seq), ("after", 2)),
        other => panic!("expected the logged incident, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_report_is_answered_with_a_reason_and_the_link_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut ws = field(&hub).await;
    ws.send(Message::text("{\"v\":1,\"seq\":2,")).await.unwrap();
    match read(&mut ws).await.body {
        Body::Error { code, fatal, .. } => assert_eq!((code, fatal), (ErrorCode::Malformed, false)),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Still connected: a heartbeat goes through and a valid report is logged.
    ws.send(Message::text(Envelope::new(3, Body::Heartbeat).to_text())).await.unwrap();
    ws.send(report_frame(4, "r1")).await.unwrap();
    match read(&mut ws).await.body {
        Body::IncidentReported(i) => assert_eq!(i.report.report_id, "r1"),
        other => panic!("expected the logged incident, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_says_since_gets_exactly_the_events_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut field = raw(&hub, FIELD, Role::FieldTerminal, 0).await;
    read(&mut field).await; // welcome
    for n in 1..=5 {
        field.send(report_frame(n, &format!("r{n}"))).await.unwrap();
        read(&mut field).await; // the logged event
    }
    // The same report again is not logged twice.
    field.send(report_frame(9, "r5")).await.unwrap();
    assert_eq!(read(&mut field).await.seq, 5);

    let mut console = raw(&hub, CONSOLE, Role::Console, 2).await;
    assert!(matches!(read(&mut console).await.body, Body::Welcome { head: 5, .. }));
    let seqs: Vec<u64> =
        [read(&mut console).await, read(&mut console).await, read(&mut console).await].iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert!(matches!(read(&mut console).await.body, Body::Replayed { head: 5 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officers_note_is_logged_once_signed_by_the_hub_and_refused_to_others() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut console = raw(&hub, CONSOLE, Role::Console, 0).await;
    assert!(matches!(read(&mut console).await.body, Body::Welcome { .. }));
    assert!(matches!(read(&mut console).await.body, Body::Replayed { .. }));
    let update = IncidentUpdate {
        key: "c-1".into(),
        incident: "E000007".into(),
        status: Some(IncidentStatus::Closed),
        note: Some("误报".into()),
        by: "someone else".into(),
    };
    let frame = Envelope::new(2, Body::UpdateIncident(update.clone())).to_text();
    console.send(Message::text(frame.clone())).await.unwrap();
    console.send(Message::text(frame)).await.unwrap(); // resent after a reconnect: logged once
    let logged = read(&mut console).await;
    assert_eq!(logged.body, Body::IncidentUpdated(IncidentUpdate { by: "console".into(), ..update.clone() }));
    assert_eq!(logged.seq, 1);
    // An empty update is refused with a reason; the connection stays.
    let empty = IncidentUpdate { key: "c-2".into(), status: None, note: None, ..update.clone() };
    console.send(Message::text(Envelope::new(3, Body::UpdateIncident(empty)).to_text())).await.unwrap();
    assert!(matches!(read(&mut console).await.body, Body::Error { code: ErrorCode::Invalid, fatal: false, .. }));
    // A field terminal may not write on incidents.
    let mut field = raw(&hub, FIELD, Role::FieldTerminal, 0).await;
    read(&mut field).await; // welcome
    let other = IncidentUpdate { key: "f-1".into(), ..update };
    field.send(Message::text(Envelope::new(2, Body::UpdateIncident(other)).to_text())).await.unwrap();
    assert!(matches!(read(&mut field).await.body, Body::Error { code: ErrorCode::Unauthorized, .. }));
    field.send(report_frame(4, "r1")).await.unwrap();
    assert_eq!(read(&mut console).await.seq, 2, "the refused update was not logged");
}

/// Two seats change one order on a township's own (SQLite) hub, each on the order as it saw
/// it: the first is logged; the second, made where the order stood before it, is refused as
/// `conflict` naming its command and not logged; made again on the order as it is now, it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_on_an_order_as_it_no_longer_is_is_refused_as_a_conflict_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let (mut a, mut b) = (seat(&hub).await, seat(&hub).await);
    let change = |key: &str, seen: u64| {
        let change = OrderChange {
            key: key.into(),
            order: "D000009".into(),
            change: Change::Archive,
            by: String::new(),
            seen: Some(seen),
        };
        Message::text(Envelope::new(2, Body::ChangeOrder(change)).to_text())
    };
    a.send(change("a", 0)).await.unwrap();
    for ws in [&mut a, &mut b] {
        let logged = read(ws).await;
        assert!(matches!(&logged.body, Body::OrderChanged(c) if c.key == "a" && c.seen == Some(0)), "{logged:?}");
        assert_eq!(logged.seq, 1);
    }
    b.send(change("b", 0)).await.unwrap();
    let refused = read(&mut b).await;
    let Body::Error { code, reason, fatal, key } = refused.body else { panic!("not refused: {refused:?}") };
    assert_eq!((code, fatal, key.as_deref()), (ErrorCode::Conflict, false, Some("change/b")), "{reason}");
    assert!(reason.contains("D000009") && reason.contains("at 1, not at 0"), "{reason}");
    b.send(change("b-again", 1)).await.unwrap();
    let logged = read(&mut a).await;
    assert!(matches!(&logged.body, Body::OrderChanged(c) if c.key == "b-again"), "{logged:?}");
    assert_eq!(logged.seq, 2, "the refused change was not logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_is_logged_once_and_reaches_every_console() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let (mut a, mut b) = (seat(&hub).await, seat(&hub).await);
    let ack = Envelope::new(2, Body::Acknowledge { incident: "E000007".into() }).to_text();
    a.send(Message::text(ack.clone())).await.unwrap();
    a.send(Message::text(ack)).await.unwrap(); // a second press: logged once
    for ws in [&mut a, &mut b] {
        let env = read(ws).await;
        assert_eq!(env.body, Body::AlarmAcknowledged { incident: "E000007".into(), by: "console".into() });
        assert_eq!(env.seq, 1);
    }
    // A field terminal may not acknowledge.
    let mut field = raw(&hub, FIELD, Role::FieldTerminal, 0).await;
    read(&mut field).await; // welcome
    field
        .send(Message::text(Envelope::new(2, Body::Acknowledge { incident: "E000007".into() }).to_text()))
        .await
        .unwrap();
    assert!(matches!(read(&mut field).await.body, Body::Error { code: ErrorCode::Unauthorized, .. }));
    // The next event a console sees is a new one, not the acknowledgement again.
    field.send(report_frame(4, "r1")).await.unwrap();
    let next = read(&mut b).await;
    assert_eq!((next.seq, next.body.kind()), (2, "incident_reported"));
}

/// A burst far longer than one send run (256 frames) reaches a console whole: the hub once
/// dropped the event that followed a full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_reports_reaches_a_console_without_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut console = raw(&hub, CONSOLE, Role::Console, 0).await;
    read(&mut console).await; // welcome
    read(&mut console).await; // replayed
    // A bridge (the 110 center) may send this much at once; a handheld may not.
    let mut field = raw(&hub, BRIDGE, Role::Bridge, 0).await;
    read(&mut field).await; // welcome
    const BURST: u64 = 2000;
    for n in 1..=BURST {
        field.feed(report_frame(n, &format!("b{n}"))).await.unwrap();
    }
    field.flush().await.unwrap();
    for expected in 1..=BURST {
        assert_eq!(read(&mut console).await.seq, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_is_refused_message_by_message_and_nothing_over_it_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut handheld = raw(&hub, SLOW_HANDHELD, Role::FieldTerminal, 0).await;
    read(&mut handheld).await; // welcome
    for n in 1..=60 {
        handheld.feed(report_frame(n, &format!("h{n}"))).await.unwrap();
    }
    handheld.flush().await.unwrap();
    let (mut logged, mut limited) = (0, 0);
    for _ in 0..60 {
        match read(&mut handheld).await.body {
            Body::IncidentReported(_) => logged += 1,
            Body::Error { code: ErrorCode::RateLimited, fatal: false, .. } => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Ten seconds' worth at once (50), give or take what trickled in while sending.
    assert!((50..=52).contains(&logged), "{logged} logged");
    assert_eq!(logged + limited, 60);
    // The connection stays; after a pause the handheld may send again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    handheld.send(report_frame(61, "h61")).await.unwrap();
    assert!(matches!(read(&mut handheld).await.body, Body::IncidentReported(_)));
    let mut console = raw(&hub, CONSOLE, Role::Console, 0).await;
    assert!(matches!(read(&mut console).await.body, Body::Welcome { head, .. } if head == logged + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_cannot_keep_up_is_warned_before_it_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    // A console with a small socket buffer: what it has not read waits at the hub.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(hub.url().trim_start_matches("ws://").parse().unwrap()).await.unwrap();
    let (mut console, _) = tokio_tungstenite::client_async(hub.url(), stream).await.unwrap();
    let hello = Envelope::new(1, Body::Hello { token: CONSOLE.into(), role: Role::Console, since: 0 });
    console.send(Message::text(hello.to_text())).await.unwrap();
    read(&mut console).await; // welcome
    read(&mut console).await; // replayed
    let mut flood = raw(&hub, FLOOD, Role::Bridge, 0).await;
    read(&mut flood).await; // welcome
    let (mut flood_out, mut flood_in) = flood.split();
    // The bridge reads its answers, so only the console is slow.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = flood_in.next().await {} });
    // Far more than the socket buffers and the hub's buffer for this console hold together.
    let sender = tokio::spawn(async move {
        for n in 1..=40_000u64 {
            flood_out.feed(report_frame(n, &format!("f{n}"))).await.unwrap();
            if n % 500 == 0 {
                flood_out.flush().await.unwrap();
            }
        }
        flood_out.flush().await.unwrap();
        flood_out
    });
    // The console reads slowly and notes the refusals it gets.
    let mut refusals = vec![];
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < until {
        match tokio::time::timeout(Duration::from_secs(10), console.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if let Body::Error { code, fatal, .. } = Envelope::parse(&t).unwrap().body {
                    refusals.push((code, fatal));
                    if fatal {
                        break;
                    }
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
        tokio::time::sleep(Duration::from_micros(300)).await;
    }
    assert_eq!(
        refusals,
        [(ErrorCode::TooSlow, false), (ErrorCode::TooSlow, true)],
        "warned once, then cut off; the hub kept logging"
    );
    assert_eq!(closed_with(&mut console).await, close::TRY_AGAIN_LATER, "told to come back with since");
    drop(sender.await.unwrap());
    drain.abort();
}

fn client(
    hub: &HubHandle,
    token: &str,
    role: Role,
) -> (streams::feed::ClientHandle, mpsc::UnboundedReceiver<FeedUpdate>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = FeedClient { url: hub.url(), token: token.into(), role, since: 0, name: token.into(), trust: None }
        .spawn(&tokio::runtime::Handle::current(), tx, streams::no_waker());
    (handle, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_work_order_goes_once_to_its_unit_only_and_each_step_is_logged_once() {
    use streams::feed::{OrderProgress, Step, WorkOrder};
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let (dispatcher, mut receipts) = client(&hub, DISPATCHER, Role::Dispatcher);
    let (police, mut police_rx) = client(&hub, "police-terminal", Role::UnitTerminal);
    let (_fire, mut fire_rx) = client(&hub, "fire-terminal", Role::UnitTerminal);
    let (_console, mut console_rx) = client(&hub, CONSOLE, Role::Console);
    let order = WorkOrder {
        key: "D1/police/order".into(),
        order: "D1".into(),
        incident: "E000001".into(),
        unit: "police".into(),
        text: "东湾村火情，请立即前往。".into(),
        acknowledge_by: chrono::Utc::now(),
        details: None,
    };
    // Sent twice (a resend after a crash): logged once, both answered with the same event.
    dispatcher.send(Body::IssueOrder(order.clone()));
    dispatcher.send(Body::IssueOrder(order.clone()));
    let first = next_event(&mut receipts).await;
    let second = next_event(&mut receipts).await;
    assert_eq!(first.seq, second.seq);
    assert_eq!(first.body, Body::OrderIssued(order.clone()));
    let got = next_event(&mut police_rx).await;
    assert_eq!(got.body, Body::OrderIssued(order.clone()));
    // The terminal acknowledges twice; the console sees one step, with the hub's time.
    for _ in 0..2 {
        police.send(Body::Progress(OrderProgress {
            order: "D1".into(),
            unit: "police".into(),
            step: Step::Acknowledged,
            note: String::new(),
            attachments: vec![],
        }));
    }
    let mut kinds = vec![];
    while kinds.len() < 2 {
        kinds.push(next_event(&mut console_rx).await.body.kind());
    }
    assert_eq!(kinds, ["order_issued", "order_progressed"]);
    // A terminal may not report for another unit.
    police.send(Body::Progress(OrderProgress {
        order: "D1".into(),
        unit: "fire".into(),
        step: Step::Acknowledged,
        note: String::new(),
        attachments: vec![],
    }));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut refused = false;
    while let Ok(update) = police_rx.try_recv() {
        refused |= matches!(update, FeedUpdate::Refused { .. });
    }
    assert!(refused, "a progress for another unit is refused");
    // Nothing reached the fire brigade, and the console saw no second step.
    while let Ok(update) = fire_rx.try_recv() {
        assert!(!matches!(update, FeedUpdate::Event(_)), "fire got {update:?}");
    }
    while let Ok(update) = console_rx.try_recv() {
        assert!(!matches!(update, FeedUpdate::Event(_)), "console got a second event: {update:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_stop_a_console_and_a_silent_one_is_dropped() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with(&dir, Limits { handshake: Duration::from_secs(2), ..Limits::default() }).await;
    let mut idle = vec![];
    for _ in 0..1000 {
        idle.push(tokio::net::TcpStream::connect(hub.addr()).await.unwrap());
    }
    // A console and a field terminal work while the thousand say nothing.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = tokio::runtime::Handle::current();
    let console = FeedClient {
        url: hub.url(),
        token: CONSOLE.into(),
        role: Role::Console,
        since: 0,
        name: "c".into(),
        trust: None,
    };
    let _console = console.spawn(&handle, tx, streams::no_waker());
    let mut field = raw(&hub, FIELD, Role::FieldTerminal, 0).await;
    field.send(report_frame(2, "idle-1")).await.unwrap();
    assert!(matches!(next_event(&mut rx).await.body, Body::IncidentReported(_)));
    // Each silent connection is closed once the handshake time is up: reading gives the end.
    let mut byte = [0u8; 1];
    for i in [0, idle.len() - 1] {
        let socket = &mut idle[i];
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut byte)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "a silent client kept its connection: {read:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_log_in_and_the_hub_refuses_a_wrong_password_a_disabled_user_and_what_a_role_may_not_do() {
    use streams::feed::{DispatchDraft, DispatchRequest, Person, SeatRole, Users, login};
    let dir = tempfile::tempdir().unwrap();
    {
        let mut users = Users::open(dir.path()).unwrap();
        let person = |user: &str, display: &str, seat| Person {
            user: user.into(),
            display: display.into(),
            seat,
            township: "青溪镇".into(),
            unit: None,
        };
        users.add(&person("zhang", "值班员 张伟", SeatRole::DutyOfficer), "correct horse").unwrap();
        users.add(&person("li", "镇长 李娜", SeatRole::Leader), "battery staple").unwrap();
        users.add(&person("gone", "离职人员", SeatRole::DutyOfficer), "old password").unwrap();
        users.set_disabled("gone", true).unwrap();
    }
    let hub = hub(&dir).await;
    let url = hub.url();
    assert_eq!(login(&url, None, "zhang", "wrong horse").await, Err("wrong user name or password".into()));
    assert_eq!(login(&url, None, "nobody", "correct horse").await, Err("wrong user name or password".into()));
    assert_eq!(login(&url, None, "gone", "old password").await, Err("the account gone is disabled".into()));
    let officer = login(&url, None, "zhang", "correct horse").await.unwrap();
    assert_eq!((officer.name.as_str(), officer.seat), ("值班员 张伟", Some(SeatRole::DutyOfficer)));
    let leader = login(&url, None, "li", "battery staple").await.unwrap();

    let draft = DispatchDraft {
        incident: "E000001".into(),
        plan: None,
        units: vec![("police".into(), vec![streams::feed::ChannelKind::Order])],
        texts: Default::default(),
        clocks: Default::default(),
    };
    let dispatch =
        |key: &str| Body::Dispatch(DispatchRequest { key: key.into(), draft: draft.clone(), by: "me".into() });
    // The leader's seat: a note is fine, a dispatch is refused with the reason.
    let mut ws = raw(&hub, &leader.token, Role::Console, 0).await;
    assert!(matches!(read(&mut ws).await.body, Body::Welcome { seat: Some(SeatRole::Leader), .. }));
    ws.send(Message::text(Envelope::new(2, dispatch("l-1")).to_text())).await.unwrap();
    let refused = loop {
        if let Body::Error { code, reason, fatal, key } = read(&mut ws).await.body {
            assert_eq!(key.as_deref(), Some("dispatch/l-1"), "the refusal names the command");
            break (code, reason, fatal);
        }
    };
    assert_eq!(refused.0, ErrorCode::Unauthorized);
    assert!(refused.1.contains("leader may not send dispatch"), "{}", refused.1);
    assert!(!refused.2);
    // The officer's seat, with the session token: the dispatch is logged, signed with the
    // officer's name whatever the seat wrote.
    let mut ws = raw(&hub, &officer.token, Role::Console, 0).await;
    ws.send(Message::text(Envelope::new(2, dispatch("z-1")).to_text())).await.unwrap();
    let logged = loop {
        if let Body::DispatchRequested(r) = read(&mut ws).await.body {
            break r;
        }
    };
    assert_eq!(logged.by, "值班员 张伟");
    // A made-up token is refused, fatally, with a reason.
    let mut ws = raw(&hub, "not-a-session", Role::Console, 0).await;
    assert!(matches!(read(&mut ws).await.body, Body::Error { code: ErrorCode::Unauthorized, fatal: true, .. }));
    // Disabled now: the officer's session ends at once.
    Users::open(dir.path()).unwrap().set_disabled("zhang", true).unwrap();
    let mut ws = raw(&hub, &officer.token, Role::Console, 0).await;
    assert!(matches!(read(&mut ws).await.body, Body::Error { code: ErrorCode::Unauthorized, fatal: true, .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_never_reads_a_reporters_mobile_and_a_console_does() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut field = raw(&hub, FIELD, Role::FieldTerminal, 0).await;
    read(&mut field).await; // welcome
    let with_mobile = report_frame(2, "m1")
        .into_text()
        .unwrap()
        .replace(r#""reporter":"李娜""#, r#""reporter":"李娜","reporter_mobile":"13912345678""#);
    field.send(Message::text(with_mobile)).await.unwrap();
    let logged = read(&mut field).await;
    let Body::IncidentReported(i) = logged.body else { panic!("{logged:?}") };
    assert_eq!(i.report.reporter_mobile.as_deref(), Some("13912345678"), "logged with the mobile");
    // A bridge that connects later (replay) and one connected before (live) both read it without.
    let mut live = raw(&hub, BRIDGE, Role::Bridge, 1).await;
    read(&mut live).await; // welcome
    read(&mut live).await; // replayed
    field
        .send(
            report_frame(3, "m2")
                .into_text()
                .map(|t| {
                    Message::text(
                        t.replace(r#""reporter":"李娜""#, r#""reporter":"李娜","reporter_mobile":"13900000000""#),
                    )
                })
                .unwrap(),
        )
        .await
        .unwrap();
    let mut replayed = raw(&hub, BRIDGE, Role::Bridge, 0).await;
    read(&mut replayed).await; // welcome
    for (ws, what) in [(&mut replayed, "replay"), (&mut live, "live")] {
        loop {
            let env = read(ws).await;
            if let Body::IncidentReported(i) = env.body {
                assert_eq!(i.report.reporter_mobile, None, "a bridge read a mobile in the {what}");
                if i.report.report_id == "m2" {
                    break;
                }
            }
        }
    }
    let mut console = raw(&hub, CONSOLE, Role::Console, 0).await;
    read(&mut console).await; // welcome
    let Body::IncidentReported(i) = read(&mut console).await.body else { panic!() };
    assert_eq!(i.report.reporter_mobile.as_deref(), Some("13912345678"), "the center's console reads it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_turned_or_a_clip_kept_is_logged_once_signed_by_the_hub_and_only_from_a_seat() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let mut console = raw(&hub, CONSOLE, Role::Console, 0).await;
    assert!(matches!(read(&mut console).await.body, Body::Welcome { .. }));
    assert!(matches!(read(&mut console).await.body, Body::Replayed { .. }));
    let clip = CameraUse {
        key: "c-1".into(),
        camera: "xl-market".into(),
        camera_name: "杏林农贸市场".into(),
        incident: Some("E000007".into()),
        action: CameraAction::Clip {
            file: "xl-market.mkv".into(),
            sha256: "ab".repeat(32),
            bytes: 10,
            seconds: 5.0,
            cut: None,
        },
        by: "someone else".into(),
    };
    let frame = Envelope::new(2, Body::UseCamera(clip.clone())).to_text();
    console.send(Message::text(frame.clone())).await.unwrap();
    console.send(Message::text(frame)).await.unwrap(); // sent twice: logged once
    let logged = read(&mut console).await;
    assert_eq!(logged.body, Body::CameraUsed(CameraUse { by: "console".into(), ..clip.clone() }));
    // A clip named by a path, or a motion nobody knows, is refused with a reason.
    let path = CameraUse {
        key: "c-2".into(),
        action: CameraAction::Clip {
            file: "../x.mkv".into(),
            sha256: "ab".repeat(32),
            bytes: 10,
            seconds: 5.0,
            cut: None,
        },
        ..clip.clone()
    };
    console.send(Message::text(Envelope::new(3, Body::UseCamera(path)).to_text())).await.unwrap();
    assert!(matches!(read(&mut console).await.body, Body::Error { code: ErrorCode::Invalid, fatal: false, .. }));
    let spin = CameraUse { key: "c-3".into(), action: CameraAction::Steered { motion: "spin".into() }, ..clip.clone() };
    console.send(Message::text(Envelope::new(4, Body::UseCamera(spin)).to_text())).await.unwrap();
    assert!(matches!(read(&mut console).await.body, Body::Error { code: ErrorCode::Invalid, fatal: false, .. }));
    // A field terminal may not.
    let mut field = raw(&hub, FIELD, Role::FieldTerminal, 0).await;
    read(&mut field).await; // welcome
    let turned = CameraUse { key: "f-1".into(), action: CameraAction::Steered { motion: "left".into() }, ..clip };
    field.send(Message::text(Envelope::new(2, Body::UseCamera(turned)).to_text())).await.unwrap();
    assert!(matches!(read(&mut field).await.body, Body::Error { code: ErrorCode::Unauthorized, .. }));
    field.send(report_frame(5, "r1")).await.unwrap();
    assert_eq!(read(&mut console).await.seq, 2, "nothing refused was logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_chairs_a_meeting_a_unit_raises_only_its_own_hand_and_an_on_call_seat_does_neither() {
    use streams::feed::{MeetingAction, MeetingCommand, Person, Site, Users, login};
    let dir = tempfile::tempdir().unwrap();
    {
        let mut users = Users::open(dir.path()).unwrap();
        let person = |user: &str, display: &str, seat, unit: Option<&str>| Person {
            user: user.into(),
            display: display.into(),
            seat,
            township: "青溪镇".into(),
            unit: unit.map(str::to_owned),
        };
        users.add(&person("li", "镇长 李娜", SeatRole::Leader, None), "battery staple").unwrap();
        users.add(&person("wang", "值守 王强", SeatRole::OnCall, None), "horse battery").unwrap();
        users.add(&person("zhao", "派出所 赵军", SeatRole::Unit, Some("police")), "staple horse").unwrap();
    }
    let hub = hub(&dir).await;
    let url = hub.url();
    let command = |key: &str, meeting: &str, action| {
        let command = MeetingCommand { key: key.into(), meeting: meeting.into(), action, by: "me".into() };
        Message::text(Envelope::new(2, Body::ChairMeeting(command)).to_text())
    };
    let refusal = |body: Body| match body {
        Body::Error { code, reason, .. } => Some((code, reason)),
        _ => None,
    };
    let leader = login(&url, None, "li", "battery staple").await.unwrap();
    let mut chair = raw(&hub, &leader.token, Role::Console, 0).await;
    assert!(matches!(read(&mut chair).await.body, Body::Welcome { .. }));
    assert!(matches!(read(&mut chair).await.body, Body::Replayed { .. }));
    let sites = vec![Site { id: "police".into(), name: "派出所".into() }];
    let open = MeetingAction::Open { title: "矛盾纠纷会商".into(), incident: Some("E000001".into()), sites };
    chair.send(command("o-1", "", open.clone())).await.unwrap();
    chair.send(command("o-1", "", open)).await.unwrap(); // sent twice: logged once
    let opened = read(&mut chair).await;
    let Body::MeetingChaired(c) = &opened.body else { panic!("{opened:?}") };
    assert_eq!((c.meeting.as_str(), c.by.as_str()), (format!("M{:06}", opened.seq).as_str(), "镇长 李娜"));

    let on_call = login(&url, None, "wang", "horse battery").await.unwrap();
    let mut ws = raw(&hub, &on_call.token, Role::Console, 0).await;
    read(&mut ws).await; // welcome
    ws.send(command("w-1", &c.meeting, MeetingAction::MuteAll { self_unmute: false })).await.unwrap();
    let (code, reason) = loop {
        if let Some(r) = refusal(read(&mut ws).await.body) {
            break r;
        }
    };
    assert_eq!(code, ErrorCode::Unauthorized);
    assert!(reason.contains("on_call may not mute_all"), "{reason}");

    let unit = login(&url, None, "zhao", "staple horse").await.unwrap();
    let mut ws = raw(&hub, &unit.token, Role::UnitTerminal, 0).await;
    read(&mut ws).await; // welcome
    let replayed = read(&mut ws).await;
    let reads_meeting = matches!(&replayed.body, Body::MeetingChaired(o) if o.meeting == c.meeting);
    assert!(reads_meeting, "a unit's seat reads the meetings (its invitations): {replayed:?}");
    ws.send(command("z-1", &c.meeting, MeetingAction::RaiseHand { site: "fire".into() })).await.unwrap();
    let refused = loop {
        if let Some(r) = refusal(read(&mut ws).await.body) {
            break r;
        }
    };
    assert_eq!(refused.0, ErrorCode::Unauthorized, "another unit's hand");
    ws.send(command("z-2", &c.meeting, MeetingAction::RaiseHand { site: "police".into() })).await.unwrap();
    let raised = read(&mut chair).await;
    let Body::MeetingChaired(r) = raised.body else { panic!("{raised:?}") };
    assert_eq!((r.action, r.by.as_str()), (MeetingAction::RaiseHand { site: "police".into() }, "派出所 赵军"));
    // A command without its meeting is refused as invalid, and nothing refused was logged.
    chair.send(command("o-2", "", MeetingAction::Close)).await.unwrap();
    assert!(matches!(read(&mut chair).await.body, Body::Error { code: ErrorCode::Invalid, .. }));
    assert_eq!(raised.seq, opened.seq + 1);
}

/// A meeting's tokens (what lets a site join the room and receive it) reach the center's seats,
/// whatever their person's role, and its services; a unit's seat reads the meeting with its own
/// site's token only, and a bridge gets every join without its token, replayed and live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meetings_tokens_stay_inside_the_center() {
    use streams::feed::{MeetingEnforcement, SiteJoin};
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&dir).await;
    let enforced = |command: u64| {
        let join = |site: &str, participant, token: &str| SiteJoin {
            site: site.into(),
            participant,
            token: Some(format!("{token}-{command}")),
        };
        let enforcement = MeetingEnforcement {
            meeting: "M000001".into(),
            command,
            ok: true,
            detail: String::new(),
            room: Some(4242),
            sfu: Some("http://127.0.0.1:8088/janus".into()),
            joins: vec![
                join("police", 100, "police-token"),
                join("chair", 2, "chair-token"),
                join("watch", 0, "watch-token"),
            ],
        };
        Message::text(Envelope::new(2, Body::MeetingEnforced(enforcement)).to_text())
    };
    // What a reader got: each join's participant, and its token if any.
    let joins = |env: Envelope| match env.body {
        Body::MeetingEnforced(e) => e.joins.into_iter().map(|j| (j.participant, j.token)).collect::<Vec<_>>(),
        other => panic!("not an enforcement: {other:?}"),
    };
    let token = |name: &str, command: u64| Some(format!("{name}-token-{command}"));
    let whole = |command: u64| {
        vec![(100, token("police", command)), (2, token("chair", command)), (0, token("watch", command))]
    };
    let withheld = vec![(100, None), (2, None), (0, None)];
    // A unit's seat reads its own site's token, no other (the chair's and the watch's not).
    let own = |command: u64| vec![(100, token("police", command)), (2, None), (0, None)];

    let mut center = raw(&hub, CENTER, Role::Center, 0).await;
    assert!(matches!(read(&mut center).await.body, Body::Welcome { .. }));
    assert!(matches!(read(&mut center).await.body, Body::Replayed { .. }));
    center.send(enforced(1)).await.unwrap();
    assert_eq!(joins(read(&mut center).await), whole(1), "the center reads what it logged");

    // Replayed.
    let mut readers = vec![];
    for (token, role, sees) in [
        (CONSOLE, Role::Console, whole(1)),
        (ON_CALL, Role::Console, whole(1)),
        (BRIDGE, Role::Bridge, withheld.clone()),
        ("police-terminal", Role::UnitTerminal, own(1)),
        ("fire-terminal", Role::UnitTerminal, withheld.clone()),
    ] {
        let mut ws = raw(&hub, token, role, 0).await;
        assert!(matches!(read(&mut ws).await.body, Body::Welcome { .. }));
        assert_eq!(joins(read(&mut ws).await), sees, "{token} replayed");
        assert!(matches!(read(&mut ws).await.body, Body::Replayed { .. }));
        readers.push((token, ws));
    }
    // Live.
    center.send(enforced(2)).await.unwrap();
    for (token, ws) in &mut readers {
        let sees = match *token {
            BRIDGE | "fire-terminal" => withheld.clone(),
            "police-terminal" => own(2),
            _ => whole(2),
        };
        assert_eq!(joins(read(ws).await), sees, "{token} live");
    }
}
