//! Nothing lost, nothing doubled: a dispatch is written to the outbox, then the process that
//! sends it (`linkage outbox`) is killed with SIGKILL at random points, again and again, and
//! started again until it finishes. Every unit terminal on the hub and the SMSC (not ours) must
//! end up with every message exactly once.

mod peers;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use linkage::config::Config;
use linkage::core::dispatch::DispatchDraft;
use linkage::core::order::ChannelKind;
use linkage::core::plan::Texts;
use linkage::core::{Command, Core, Effect};
use linkage::store::Store;
use streams::feed::{Body, Envelope, FeedUpdate};

const ORDERS: usize = 100;
const UNITS: [&str; 3] = ["u1", "u2", "u3"];
const KILLS: usize = 12;

fn write_config(dir: &Path, hub_url: &str, smsc_port: u16) -> std::path::PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    let mut text = format!(
        "[hub]\nmode = \"remote\"\nurl = \"{hub_url}\"\ntoken = \"unused\"\ndispatcher_token = \"disp\"\n\n\
         [map]\ngrids = \"{grids}\"\nkinds = \"{kinds}\"\n\n\
         [dispatch]\ncenter = \"测试中心\"\n\n\
         [dispatch.sms]\naddress = \"127.0.0.1:{smsc_port}\"\nsystem_id = \"linkage\"\npassword = \"secret\"\nsource = \"10690001\"\n",
        grids = demo.join("grids.geojson").display(),
        kinds = demo.join("incident_kinds.toml").display(),
    );
    for (i, u) in UNITS.iter().enumerate() {
        text += &format!("\n[[unit]]\nid = \"{u}\"\nname = \"单位{i}\"\ntier = 1\nsms = [\"1380000000{i}\"]\n");
    }
    let path = dir.join("linkage.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes the dispatches into the outbox as the console does when the officer clicks send.
fn seed(config: &Config, store_dir: &Path) -> Vec<String> {
    let mut core = Core { units: config.units.clone(), center: config.dispatch.center.clone(), ..Core::default() };
    let mut store = Store::open(store_dir).unwrap();
    let mut keys = vec![];
    for i in 0..ORDERS {
        let draft = DispatchDraft {
            incident: format!("E{i:06}"),
            plan: None,
            units: UNITS.iter().map(|u| (u.to_string(), vec![ChannelKind::Order, ChannelKind::Sms])).collect(),
            texts: Texts {
                order: format!("第{i}号派单，请{{unit}}处置。"),
                sms: format!("第{i}号短信通知。"),
                radio: String::new(),
            },
            clocks: Default::default(),
        };
        for effect in core.apply(Command::Dispatch(draft)) {
            let Effect::Dispatch { order, outgoing } = effect else { panic!("{effect:?}") };
            store.put_dispatch(&order, &outgoing, chrono::Utc::now()).unwrap();
            keys.extend(outgoing.into_iter().map(|o| o.key));
        }
    }
    keys
}

#[test]
fn a_dispatch_killed_at_random_points_reaches_every_peer_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Every unit's terminal counts what it receives.
    let mut units = peers::unit_hub(&runtime, dir.path(), &UNITS);
    let smsc = peers::start_smsc(dir.path(), 0);
    let config_path = write_config(dir.path(), &units.hub.url(), smsc.port);
    let config = Config::load(&config_path).unwrap();
    let store_dir = dir.path().join("store");
    let keys = seed(&config, &store_dir);
    assert_eq!(keys.len(), ORDERS * UNITS.len() * 2);

    let outbox = || {
        Process::new(env!("CARGO_BIN_EXE_linkage"))
            .args(["outbox", "--config"])
            .arg(&config_path)
            .arg("--data")
            .arg(&store_dir)
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap()
    };
    let mut rng = fastrand::Rng::with_seed(7);
    let mut kills = 0;
    for _ in 0..KILLS {
        let mut child = outbox();
        let started = Instant::now();
        let after = Duration::from_millis(rng.u64(5..250));
        while started.elapsed() < after && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(status) = child.try_wait().unwrap() {
            eprintln!("run finished in {:?}: {status}", started.elapsed());
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    let status = outbox().wait().unwrap();
    assert!(status.success(), "the last run finishes");
    assert!(kills >= 3, "only {kills} kills landed mid-dispatch: the test proves little");

    // The terminals: every order key exactly once.
    let expected_orders: HashSet<&String> = keys.iter().filter(|k| k.ends_with("/order")).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < expected_orders.len() && Instant::now() < deadline {
        match units.received.try_recv() {
            Ok(FeedUpdate::Event(Envelope { body: Body::OrderIssued(o), .. })) => *seen.entry(o.key).or_default() += 1,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(update) = units.received.try_recv() {
        if let FeedUpdate::Event(Envelope { body: Body::OrderIssued(o), .. }) = update {
            *seen.entry(o.key).or_default() += 1;
        }
    }
    for key in &expected_orders {
        assert_eq!(seen.get(*key), Some(&1), "terminal got {key} {:?} times", seen.get(*key));
    }
    assert_eq!(seen.len(), expected_orders.len());

    // The SMSC: every SMS key accepted exactly once; resends it recognised are counted.
    let submits = peers::submits(&smsc.log);
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut resent = 0;
    for s in &submits {
        let key = s["key"].as_str().unwrap().split('#').next().unwrap().to_owned();
        if s["duplicate"] == true {
            resent += 1;
        } else {
            *accepted.entry(key).or_default() += 1;
        }
    }
    for key in keys.iter().filter(|k| k.ends_with("/sms")) {
        assert_eq!(accepted.get(key), Some(&1), "SMSC accepted {key} {:?} times", accepted.get(key));
    }
    // The store agrees: nothing left without a receipt.
    assert!(Store::open(&store_dir).unwrap().unsent().unwrap().is_empty());
    eprintln!("{kills} kills; {} SMS resends recognised by key at the SMSC", resent);
}
