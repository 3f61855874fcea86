//! The 110 / 12345 bridge against simulators that know only docs/bridge.md
//! (tests/peers/hotline110.py, Python's standard library): the 110 center pushes incidents,
//! the center's seats work them — one to its follow-up visit, one returned to 110, one
//! transferred to 12345 — and the 110 center, killed and restarted in the middle, hears every
//! status of each incident once, in the order of the state machine, its signatures checked.
//! Then the bridge's own refusals: a bad signature, a stale time, a bad field, each named.

mod peers;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use linkage::config::{BridgePeer, BridgeSettings, Config};
use linkage::core::Command;
use linkage::core::order::Stage;
use peers::{PythonPeer, Seat};
use streams::feed::{Body, HandoverState, OrderProgress, ReportSource, Step};

const SECRET_110: &str = "secret-of-the-110-center";
const SECRET_12345: &str = "secret-of-the-12345-platform";

fn peer(id: &str, source: ReportSource, secret: &str, port: u16) -> BridgePeer {
    BridgePeer {
        id: id.into(),
        name: format!("{id}指挥中心"),
        source,
        secret: secret.into(),
        url: format!("http://127.0.0.1:{port}"),
        default_kind: "public_order".into(),
        categories: [("纠纷".to_string(), "dispute".to_string())].into(),
    }
}

fn township(port_110: u16, port_12345: u16) -> Config {
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config.bridge = Some(BridgeSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        retry: vec![Duration::from_secs(1)],
        replay_window: Duration::from_secs(300),
        peers: vec![
            peer("110", ReportSource::Hotline110, SECRET_110, port_110),
            peer("12345", ReportSource::Hotline12345, SECRET_12345, port_12345),
        ],
    });
    config
}

fn hotline(dir: &Path, name: &str, port: u16, extra: &[&str]) -> PythonPeer {
    let state = dir.join(format!("{name}.state.json"));
    let port = port.to_string();
    let mut args = vec!["--port", &port, "--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    PythonPeer::start(&dir.join(name), "hotline110.py", &args)
}

/// The statuses the 110 center logged for an incident number, in order.
fn statuses(peer: &PythonPeer, number: &str) -> Vec<String> {
    let events = peer.events("status");
    events.iter().filter(|e| e["incident_no"] == number).map(|e| e["status"].as_str().unwrap().to_owned()).collect()
}

fn step(rig: &peers::CenterRig, order: &str, step: Step, note: &str) {
    let progress =
        OrderProgress { order: order.into(), unit: "police".into(), step, note: note.into(), attachments: vec![] };
    rig.terminals["police"].send(Body::Progress(progress));
}

#[test]
fn the_110_center_hears_every_status_once_and_in_order_across_its_own_restart() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let dir = tempfile::tempdir().unwrap();
    for name in ["110", "12345"] {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let [port_110, port_12345] = linkage_tests::free_tcp_ports();
    let config = township(port_110, port_12345);
    let rig = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let bridge = format!("http://{}", rig.server.bridge_addr().unwrap());
    let push = ["--secret", SECRET_110, "--bridge", &bridge, "--push", "3"];
    let mut police_center = Some(hotline(dir.path(), "110", port_110, &push));
    let twelve = ["--peer", "12345", "--secret", SECRET_12345, "--bridge", &bridge, "--auto-progress"];
    let platform = hotline(dir.path(), "12345", port_12345, &twelve);

    // The three incidents are accepted, each answered with the center's id.
    let p110 = police_center.as_ref().unwrap();
    p110.until(30, "pushed", |e| e.len() == 3);
    let ids: Vec<String> =
        p110.events("pushed").iter().map(|e| e["answer"]["id"].as_str().expect("an id").to_owned()).collect();
    let numbers: Vec<String> = (1..=3).map(|n| format!("110-20261206-{n:04}")).collect();
    let mut seat = Seat::open(&runtime, &dir.path().join("seat"), &rig.url(), "seat-1", &config);
    seat.until(20, "the pushed incidents and the docked peers", |core| {
        ids.iter().all(|id| core.incidents.get(id).is_some()) && core.peers.len() == 2
    });
    let first = &seat.core.incidents.get(&ids[0]).unwrap().incident;
    assert_eq!(first.report.source, ReportSource::Hotline110);
    assert_eq!(first.report.kind, "dispute", "the 110's category mapped to a kind");
    assert_eq!(seat.core.bridged_from(&ids[0]), Some(("110", numbers[0].as_str())));

    // An acknowledgement alone signs for the second (the bridge reads it).
    seat.feed.send(streams::feed::Body::Acknowledge { incident: ids[1].clone() });
    p110.until(30, "status", |e| e.iter().any(|s| s["incident_no"] == numbers[1] && s["status"] == "signed_for"));

    // The first is dispatched and worked; the 110 center goes down while it is on scene.
    seat.apply(Command::Dispatch(peers::order_only(&ids[0], "police", "请派出所前往调解")));
    seat.until(20, "the order", |core| core.orders.list.values().any(|o| o.incident == ids[0]));
    let order = seat.core.orders.list.values().find(|o| o.incident == ids[0]).unwrap().id.clone();
    step(&rig, &order, Step::Acknowledged, "");
    step(&rig, &order, Step::OnScene, "");
    p110.until(30, "status", |e| e.iter().any(|s| s["incident_no"] == numbers[0] && s["status"] == "on_scene"));
    drop(police_center.take());
    step(&rig, &order, Step::Handling, "");
    step(&rig, &order, Step::ReportedBack, "双方已达成和解");
    seat.until(20, "reported back", |core| core.orders.list[&order].stage() == Stage::ReportedBack);
    seat.apply(Command::CloseOrder { order: order.clone(), satisfaction: 5 });
    // The second goes back to 110, the third to 12345, while 110 is still down.
    let reason = "经核实属治安案件，不属综治中心办理";
    seat.apply(Command::HandOver { incident: ids[1].clone(), to: "110".into(), reason: reason.into() });
    seat.apply(Command::HandOver {
        incident: ids[2].clone(), to: "12345".into(), reason: "属城市管理诉求".into()
    });
    // The bridge tries, is refused by the dead peer, and records why.
    let store = dir.path().join("hub/center/bridge");
    let backlog = || linkage::center::bridge::callbacks::Store::open(&store).unwrap().backlog().unwrap();
    let refused = || backlog().iter().any(|(peer, _, error)| peer == "110" && error.is_some());
    assert!(
        linkage_tests::wait_for(Duration::from_secs(30), refused),
        "no failed attempt while 110 is down: {:?}",
        backlog()
    );

    // 110 is back on the same port with what it had seen; everything owed arrives.
    let p110 = hotline(dir.path(), "110", port_110, &["--secret", SECRET_110]);
    p110.until(60, "status", |e| {
        let has = |n: &str, s: &str| e.iter().any(|x| x["incident_no"] == n && x["status"] == s);
        has(&numbers[0], "visited") && has(&numbers[1], "returned") && has(&numbers[2], "closed")
    });
    platform.until(30, "progressed", |e| e.iter().any(|p| p["state"] == "done"));
    seat.until(20, "the hand-overs' progress", |core| {
        let state = |incident: &str| core.handovers.of(incident).next().and_then(|h| h.state());
        state(&ids[1]) == Some(HandoverState::Received) && state(&ids[2]) == Some(HandoverState::Done)
    });

    let full = ["received", "signed_for", "dispatched", "on_scene", "reported_back", "closed", "visited"];
    assert_eq!(statuses(&p110, &numbers[0]), full);
    assert_eq!(statuses(&p110, &numbers[1]), ["received", "signed_for", "returned"]);
    assert_eq!(statuses(&p110, &numbers[2]), ["received", "signed_for", "closed"]);
    let returned = p110.events("status").into_iter().find(|s| s["status"] == "returned").unwrap();
    assert_eq!(returned["detail"], reason, "the reason goes with the return");
    let visited = p110.events("status").into_iter().find(|s| s["status"] == "visited").unwrap();
    assert_eq!(visited["detail"], "5", "the follow-up visit's satisfaction");
    assert!(p110.events("violation").is_empty(), "{:?}", p110.events("violation"));
    assert!(p110.events("bad_signature").is_empty() && platform.events("bad_signature").is_empty());
    let handovers = platform.events("handover");
    assert_eq!(handovers.len(), 1, "{handovers:?}");
    assert_eq!(
        (handovers[0]["incident"]["id"].as_str(), handovers[0]["reason"].as_str()),
        (Some(ids[2].as_str()), Some("属城市管理诉求"))
    );
    // The transferred incident left the queue; 12345 finished it; the returned one is closed.
    let closed = |id: &str| !seat.core.incidents.get(id).unwrap().is_open();
    assert!(closed(&ids[1]) && closed(&ids[2]));
}

/// A request to the bridge at `base`, signed with `secret` at `timestamp` (or not signed).
fn request(
    runtime: &tokio::runtime::Runtime,
    base: &str,
    path: &str,
    body: &serde_json::Value,
    signed: Option<(&str, i64)>,
) -> (u16, serde_json::Value) {
    request_trusting(runtime, (base, None), path, body, signed).unwrap()
}

/// [`request`] to an `https://` bridge trusting `trust`; the error when no answer came. Sent
/// again while the bridge answers 503 `starting` (it reads the log first), as a peer does.
fn request_trusting(
    runtime: &tokio::runtime::Runtime,
    (base, trust): (&str, Option<&streams::feed::tls::Trust>),
    path: &str,
    body: &serde_json::Value,
    signed: Option<(&str, i64)>,
) -> Result<(u16, serde_json::Value), String> {
    let body = body.to_string().into_bytes();
    let mut headers = vec![("x-bridge-peer", "110".to_string())];
    if let Some((secret, timestamp)) = signed {
        headers.push(("x-bridge-timestamp", timestamp.to_string()));
        headers.push(("x-bridge-signature", streams::http::hmac_hex(secret, timestamp, &body)));
    }
    let build = || streams::http::post_json(base, path, body.clone(), &headers).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, answer) = runtime.block_on(streams::http::exchange(base, trust, build()))?;
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        if status.as_u16() != 503 || answer["error"] != "starting" || Instant::now() > deadline {
            return Ok((status.as_u16(), answer));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn with_the_hub_on_tls_the_bridge_speaks_https_only() {
    use streams::feed::tls;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let [port_110, port_12345] = linkage_tests::free_tcp_ports();
    let config = township(port_110, port_12345);
    let site = dir.path().join("tls");
    tls::make_site_certs(&site, &["127.0.0.1".into()]).unwrap();
    let trust = tls::trust(&site.join("ca.pem")).unwrap();
    let pair = Some((tls::identity(&site).unwrap(), trust.clone()));
    let rig = peers::center_with_tls(&runtime, dir.path(), "127.0.0.1:0", &config, pair);
    let addr = rig.server.bridge_addr().unwrap();
    let incident = serde_json::json!({
        "incident_no": "110-TLS-0001", "reported_at": "2026-12-06T08:00:00+08:00", "content": "有人打架",
        "location": {"lon": 120.0, "lat": 30.13}, "category": "纠纷",
    });
    let signed = Some((SECRET_110, Utc::now().timestamp()));
    let https = format!("https://{addr}");
    let (status, answer) =
        request_trusting(&runtime, (&https, Some(&trust)), "/v1/incidents", &incident, signed).unwrap();
    assert_eq!(status, 202, "{answer}");
    let plain = request_trusting(&runtime, (&format!("http://{addr}"), None), "/v1/incidents", &incident, signed);
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
}

#[test]
fn the_bridge_names_what_it_refuses_and_keeps_a_number_and_revision_once() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let [port_110, port_12345] = linkage_tests::free_tcp_ports();
    let config = township(port_110, port_12345);
    let rig = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let base = format!("http://{}", rig.server.bridge_addr().unwrap());
    let incident = |revision: u32, content: &str| {
        serde_json::json!({
            "incident_no": "110-X-0001", "revision": revision, "reported_at": "2026-12-06T08:00:00+08:00",
            "content": content, "location": {"lon": 120.0, "lat": 30.13}, "category": "纠纷",
        })
    };
    let now = Utc::now().timestamp();
    let good = incident(1, "有人打架");

    let (status, answer) = request(&runtime, &base, "/v1/incidents", &good, None);
    assert_eq!((status, answer["error"].as_str()), (401, Some("unauthorized")), "{answer}");
    let (status, answer) = request(&runtime, &base, "/v1/incidents", &good, Some(("not-the-secret", now)));
    assert_eq!(status, 401, "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("Signature"), "{answer}");
    let (status, answer) = request(&runtime, &base, "/v1/incidents", &good, Some((SECRET_110, now - 3600)));
    assert_eq!(status, 401, "a replay an hour later: {answer}");
    let mut bad = good.clone();
    bad["location"]["lat"] = 95.0.into();
    let (status, answer) = request(&runtime, &base, "/v1/incidents", &bad, Some((SECRET_110, now)));
    assert_eq!((status, answer["field"].as_str()), (400, Some("location.lat")), "{answer}");
    let (status, _) = request(&runtime, &base, "/v1/nothing", &good, Some((SECRET_110, now)));
    assert_eq!(status, 404);

    // Accepted once, whatever the retries; a later revision is a note on the same incident.
    let (status, first) = request(&runtime, &base, "/v1/incidents", &good, Some((SECRET_110, now)));
    assert_eq!(status, 202, "{first}");
    let (status, again) = request(&runtime, &base, "/v1/incidents", &good, Some((SECRET_110, now)));
    assert_eq!((status, &again["id"]), (202, &first["id"]), "the same number and revision: the same incident");
    let (status, revised) =
        request(&runtime, &base, "/v1/incidents", &incident(2, "续报：已有人受伤"), Some((SECRET_110, now)));
    assert_eq!((status, &revised["id"]), (202, &first["id"]), "{revised}");
    let id = first["id"].as_str().unwrap();
    let mut seat = Seat::open(&runtime, &dir.path().join("seat"), &rig.url(), "seat-1", &config);
    seat.until(20, "the incident and its revision", |core| core.history.notes(id) == 1);
    assert_eq!(seat.core.incidents.len(), 1, "nothing doubled");
    let (status, answer) = request(
        &runtime,
        &base,
        "/v1/handovers/H000001/progress",
        &serde_json::json!({"state": "done"}),
        Some((SECRET_110, now)),
    );
    assert_eq!(status, 404, "no such hand-over: {answer}");
}

/// The township of the kill drill, as files: `linkage hub --config` on `port`, its bridge on
/// `bridge_port`, the 110 center at `port_110`.
fn write_township(dir: &Path, port: u16, bridge_port: u16, port_110: u16) -> std::path::PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    let text = format!(
        "[hub]\nmode = \"remote\"\nurl = \"ws://127.0.0.1:{port}\"\ntoken = \"seat\"\n\n\
         [map]\ngrids = \"{grids}\"\nkinds = \"{kinds}\"\n\n\
         [dispatch]\ncenter = \"测试中心\"\n\n\
         [bridge]\nlisten = \"127.0.0.1:{bridge_port}\"\nretry_secs = [1]\n\n\
         [[bridge.peer]]\nid = \"110\"\nname = \"县110指挥中心\"\nsource = \"hotline110\"\n\
         secret = \"{SECRET_110}\"\nurl = \"http://127.0.0.1:{port_110}\"\ndefault_kind = \"public_order\"\n\n\
         [[unit]]\nid = \"police\"\nname = \"派出所\"\ntier = 1\n",
        grids = demo.join("grids.geojson").display(),
        kinds = demo.join("incident_kinds.toml").display(),
    );
    std::fs::write(dir.join("tokens.toml"), "[[token]]\ntoken = \"seat\"\nrole = \"console\"\nname = \"officer\"\n")
        .unwrap();
    let path = dir.join("linkage.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn nothing_the_110_center_was_told_is_accepted_is_lost_when_the_server_is_killed() {
    const PUSHED: usize = 40;
    const KILLS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let [port, bridge_port, port_110] = linkage_tests::free_tcp_ports();
    let config_path = write_township(dir.path(), port, bridge_port, port_110);
    let config = Config::load(&config_path).unwrap();
    let start = || peers::Killed(peers::linkage_hub(dir.path(), port, &["--config".as_ref(), config_path.as_os_str()]));
    let mut server = start();
    std::fs::create_dir_all(dir.path().join("110")).unwrap();
    let bridge = format!("http://127.0.0.1:{bridge_port}");
    let push = PUSHED.to_string();
    let p110 = hotline(dir.path(), "110", port_110, &["--secret", SECRET_110, "--bridge", &bridge, "--push", &push]);

    // Killed with SIGKILL while the 110 center pushes, and started again on the same data.
    for kill in 1..=KILLS {
        p110.until(60, "pushed", |e| e.len() >= kill * PUSHED / (KILLS + 1));
        server.kill();
        server = start();
    }
    p110.until(120, "pushed", |e| e.len() == PUSHED);
    let answers: Vec<(String, String)> = p110
        .events("pushed")
        .iter()
        .map(|e| (e["incident_no"].as_str().unwrap().to_owned(), e["answer"]["id"].as_str().unwrap().to_owned()))
        .collect();

    // Every incident answered 202 is in the log once, under the id the 110 center was given.
    let url = format!("ws://127.0.0.1:{port}");
    let mut seat = Seat::open(&runtime, &dir.path().join("seat"), &url, "seat", &config);
    seat.until(30, "every pushed incident", |core| core.incidents.len() >= PUSHED);
    assert_eq!(seat.core.incidents.len(), PUSHED, "an incident doubled");
    for (number, id) in &answers {
        let incident = seat.core.incidents.get(id).unwrap_or_else(|| panic!("{number} answered {id}, not in the log"));
        assert_eq!(incident.incident.report.report_id, format!("110:{number}"));
    }
    // And each is told `received` once, whatever fell between a send and its answer.
    p110.until(60, "status", |e| e.len() == PUSHED);
    let received: std::collections::HashSet<_> =
        p110.events("status").iter().map(|e| e["incident_no"].as_str().unwrap().to_owned()).collect();
    assert_eq!(received.len(), PUSHED);
    assert!(p110.events("violation").is_empty());
    let retried = p110.events("retry").len();
    assert!(retried > 0, "no push met a kill: the drill proves little");
    let again = p110.events("duplicate").len();
    eprintln!(
        "bridge kill drill: {PUSHED} pushed, {KILLS} kills, {retried} attempts retried, {again} callbacks sent again"
    );
}

#[test]
fn the_demo_has_a_110_center_and_a_12345_platform_behind_its_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Only the 110 center's incidents, and no simulated officer to take them first.
    let (_world, mut seat) = peers::quiet_demo(&runtime, dir.path(), linkage::config::SimulatedSms::Smpp);
    seat.until(20, "the docked peers, from the log", |core| core.peers.len() == 2);
    let names: Vec<&str> = seat.core.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["县公安局110指挥中心", "12345政务服务便民热线"]);
    let from_110 = |core: &linkage::core::Core| {
        core.incidents
            .all()
            .iter()
            .find(|t| t.incident.report.source == ReportSource::Hotline110)
            .map(|t| t.incident.id.clone())
    };
    seat.until(60, "a 110 incident", |core| from_110(core).is_some());
    let id = from_110(&seat.core).unwrap();
    seat.apply(Command::HandOver { incident: id.clone(), to: "12345".into(), reason: "属12345受理范围".into() });
    seat.until(30, "the platform's receipt", |core| {
        core.handovers.of(&id).next().and_then(|h| h.state()) == Some(HandoverState::Received)
    });
}
