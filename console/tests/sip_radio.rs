//! Radio by SIP against gateways nobody on linkage wrote. Debian's baresip plays a talk-group's
//! gateway: it answers the call on its own and records what it hears, and sox measures the
//! recording — as long as the order spoken, and not silence. SIPp plays a gateway that asks for
//! digest credentials (tests/peers/sip/gateway_with_digest.xml): the right password is let
//! through, a wrong one is refused, and the channel says so in the words the order shows.

mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use linkage::center::channels::Channel;
use linkage::center::channels::Late;
use linkage::center::channels::radio::RadioChannel;
use linkage::center::channels::sip::SipSettings;
use linkage::core::dispatch::{Address, Outgoing};
use linkage::core::order::ChannelKind;
use peers::Killed;

const ORDER: &str = "青溪派出所请注意，青溪村三组两户村民发生纠纷，请立即前往处置。";

fn outgoing(target: &str, key: &str) -> Outgoing {
    Outgoing {
        key: key.into(),
        order: "D000001".into(),
        incident: "E000001".into(),
        unit: "police".into(),
        channel: ChannelKind::Radio,
        address: Address::Radio(target.parse().unwrap()),
        text: ORDER.into(),
        acknowledge_by: chrono::Utc::now(),
        details: None,
    }
}

fn account(password: &str) -> SipSettings {
    SipSettings { user: "linkage".into(), password: password.into() }
}

/// Waits (at most `secs`) until `file` contains `text`.
fn until_logged(file: &Path, text: &str, secs: u64) {
    let said = || std::fs::read_to_string(file).unwrap_or_default();
    let logged = linkage_tests::wait_for(Duration::from_secs(secs), || said().contains(text));
    assert!(logged, "{} never said {text:?}:\n{}", file.display(), said());
}

/// baresip answering `sip:tg101@127.0.0.1:PORT` by itself, dumping what it hears into `DIR/dump`.
fn baresip(dir: &Path, port: u16) -> (Killed, PathBuf) {
    let conf = dir.join("baresip");
    let dump = dir.join("dump");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&dump).unwrap();
    let config = format!(
        "sip_listen 127.0.0.1:{port}\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aubridge.so\n\
         module sndfile.so\nmodule_app account.so\naudio_player aubridge,radio\naudio_source aubridge,radio\n\
         snd_path {}\n",
        dump.display()
    );
    std::fs::write(conf.join("config"), config).unwrap();
    std::fs::write(conf.join("accounts"), format!("<sip:tg101@127.0.0.1:{port}>;regint=0;answermode=auto\n")).unwrap();
    let log = dir.join("baresip.log");
    let child = Process::new("baresip")
        .arg("-f")
        .arg(&conf)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("baresip runs (Debian package baresip-core)");
    until_logged(&log, "baresip is ready", 20);
    (Killed(child), log)
}

/// What sox says of a WAV file: its length in seconds and its RMS amplitude (0…1).
fn measure(wav: &Path) -> (f64, f64) {
    let length = Process::new("sox").args(["--i", "-D"]).arg(wav).output().expect("sox runs (Debian package sox)");
    let seconds: f64 = String::from_utf8_lossy(&length.stdout).trim().parse().unwrap();
    let stat = Process::new("sox").arg(wav).args(["-n", "stat"]).output().unwrap();
    let text = String::from_utf8_lossy(&stat.stderr).into_owned();
    let rms = text
        .lines()
        .find(|l| l.starts_with("RMS     amplitude:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("sox stat: {text}"));
    (seconds, rms)
}

/// Sends `msg` and waits for the end of the call: its receipt id and whether it was read out.
fn call(
    channel: &RadioChannel,
    runtime: &tokio::runtime::Runtime,
    late: &mut tokio::sync::mpsc::UnboundedReceiver<Late>,
    msg: &Outgoing,
) -> Result<(String, bool), String> {
    let receipt = runtime.block_on(channel.send(msg)).map_err(|e| e.0)?;
    let ended = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(60), late.recv()).await });
    match ended {
        Ok(Some(Late::Receipt { receipt: id, delivered, .. })) => {
            assert_eq!(id, receipt.id, "the receipt of this call");
            Ok((id, delivered))
        }
        other => panic!("no end of the call: {other:?}"),
    }
}

#[test]
fn baresip_answers_the_talk_group_and_hears_the_whole_order() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let [port] = linkage_tests::free_tcp_ports();
    let (mut baresip, log) = baresip(dir.path(), port);
    let (tx, mut late) = tokio::sync::mpsc::unbounded_channel();
    let channel = RadioChannel::new("cmn", Some(account("any")), tx);
    let target = format!("sip:tg101@127.0.0.1:{port}");
    let (id, delivered) = call(&channel, &runtime, &mut late, &outgoing(&target, "D000001/police/radio")).unwrap();
    assert!(id.starts_with("sip:") && delivered, "{id} {delivered}");
    until_logged(&log, "terminated", 20);
    // Stopped the way an operator stops it (SIGTERM): it closes its recordings.
    Process::new("kill").arg(baresip.0.id().to_string()).status().unwrap();
    baresip.0.wait().unwrap();

    // What baresip heard, against what was spoken.
    let spoken = dir.path().join("spoken.wav");
    streams::radio::speak(ORDER, "cmn", &spoken).unwrap();
    let (speech, _) = measure(&spoken);
    let heard = std::fs::read_dir(dir.path().join("dump"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .expect("baresip's recording of what it heard");
    let (length, rms) = measure(&heard);
    eprintln!("SIP radio call: spoken {speech:.2} s, heard {length:.2} s at RMS {rms:.3}");
    assert!(length >= speech, "heard {length:.2} s of a {speech:.2} s order");
    assert!(length <= speech + 5.0, "heard {length:.2} s: the call did not end with the order");
    assert!(rms > 0.02, "the recording is silence (RMS {rms})");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("PCMA"), "A-law, as offered first: {log}");
}

/// SIPp as the digest gateway on `port`, for one call.
fn sipp(port: u16, media: u16) -> Killed {
    let scenario = peers::peers_dir().join("sip/gateway_with_digest.xml");
    let child = Process::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-mp", &media.to_string(), "-m", "1", "-nostdin"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp runs (Debian package sip-tester)");
    // It listens once its UDP port shows in the kernel's table (probing by binding the port
    // ourselves could take it from SIPp at the moment it binds).
    let listening = || {
        let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
        table.lines().any(|l| l.split_whitespace().nth(1).is_some_and(|a| a.ends_with(&format!(":{port:04X}"))))
    };
    assert!(linkage_tests::wait_for(Duration::from_secs(30), listening), "sipp did not listen");
    Killed(child)
}

#[test]
fn a_gateway_that_asks_for_credentials_lets_the_right_password_through_and_refuses_a_wrong_one() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (tx, mut late) = tokio::sync::mpsc::unbounded_channel();

    let [port, media] = linkage_tests::free_tcp_ports();
    let mut gateway = sipp(port, media);
    let target = format!("sip:tg202@127.0.0.1:{port}");
    let right = RadioChannel::new("cmn", Some(account("radio-secret")), tx.clone());
    let (_, delivered) = call(&right, &runtime, &mut late, &outgoing(&target, "D000002/police/radio")).unwrap();
    assert!(delivered, "answered after the challenge, read out, hung up");
    let status = gateway.0.wait().unwrap();
    assert!(status.success(), "SIPp counted the call as failed: {status}");

    let [port, media] = linkage_tests::free_tcp_ports();
    let _gateway = sipp(port, media);
    let target = format!("sip:tg202@127.0.0.1:{port}");
    let wrong = RadioChannel::new("cmn", Some(account("not-the-password")), tx);
    let refused = call(&wrong, &runtime, &mut late, &outgoing(&target, "D000003/police/radio")).unwrap_err();
    assert!(refused.contains("refused linkage's credentials (403"), "{refused}");

    // No account for SIP talk-groups at all: said as such.
    let (tx, mut late) = tokio::sync::mpsc::unbounded_channel();
    let none = RadioChannel::new("cmn", None, tx);
    let missing = call(&none, &runtime, &mut late, &outgoing(&target, "D000004/police/radio")).unwrap_err();
    assert!(missing.contains("[dispatch.radio.sip]"), "{missing}");
}

#[test]
fn the_demos_simulated_gateway_takes_the_demo_accounts_call_and_refuses_another() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let demo = linkage::config::Config::demo().unwrap();
    let account = demo.dispatch.radio_sip.clone().expect("the demo's SIP account");
    let enforcement = demo.units.iter().find(|u| u.id == "enforcement").unwrap();
    assert!(enforcement.radio.as_ref().is_some_and(|r| r.rtp().is_none()), "a SIP talk-group in the demo");
    let [port] = linkage_tests::free_tcp_ports();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let login = (account.user.clone(), account.password.clone());
    let _gateway = runtime.block_on(streams::sim::sip_gateway::SipGateway::start(addr, login)).unwrap();
    let target = format!("sip:tg-enforcement@127.0.0.1:{port}");
    let mut msg = outgoing(&target, "D000005/enforcement/radio");
    msg.text = "执法队请注意。".into();
    let (tx, mut late) = tokio::sync::mpsc::unbounded_channel();
    let channel = RadioChannel::new("cmn", Some(account), tx.clone());
    let (_, delivered) = call(&channel, &runtime, &mut late, &msg).unwrap();
    assert!(delivered);
    let stranger = RadioChannel::new("cmn", Some(SipSettings { user: "qingxi".into(), password: "guess".into() }), tx);
    let refused = call(&stranger, &runtime, &mut late, &msg).unwrap_err();
    assert!(refused.contains("403"), "{refused}");
}
