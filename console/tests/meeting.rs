//! A video linkage meeting against peers that are not ours: Debian's Janus (started by the
//! center's server with the configuration it writes) and five sites driven by aiortc (Debian's
//! python3-aiortc), each sending a pre-encoded H.264 + Opus clip as it is. A listener, also
//! aiortc, counts every second the audio packets the SFU forwards of each site: what the
//! sites hear, whatever their own software does. The chair is a headless seat sending what the
//! chair's buttons send.

mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use linkage::config::{Config, MeetingSettings, SfuSetting};
use linkage::core::Command;
use linkage::core::meeting::Meeting;
use peers::{Killed, Seat};
use streams::feed::{MeetingAction, Site};

/// A 3-minute clip as a site's camera and microphone send it: H.264 constrained baseline
/// 320×180 at 10 fps (a keyframe a second) and a 440 Hz tone in Opus.
fn clip(dir: &Path) -> PathBuf {
    // MPEG-TS: H.264 as Annex B, the way aiortc packetizes it without decoding.
    let path = dir.join("site.ts");
    let status = Process::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "180"])
        .args(["-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "10", "-bf", "0"])
        .args(["-c:a", "libopus", "-ac", "1", "-b:a", "32k"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made no clip");
    path
}

/// A site or the listener: tests/peers/meeting_site.py under Debian's Python, killed when
/// dropped; its JSON lines in its log.
struct Aiortc {
    _child: Killed,
    log: PathBuf,
}

impl Aiortc {
    fn start(dir: &Path, name: &str, args: &[String]) -> Aiortc {
        let log = dir.join(format!("{name}.log"));
        let child = Process::new("/usr/bin/python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/meeting_site.py"))
            .args(args)
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).expect("a file for its complaints"))
            .spawn()
            .expect("python3 runs meeting_site.py");
        Aiortc { _child: Killed(child), log }
    }

    fn events(&self, event: &str) -> Vec<serde_json::Value> {
        peers::logged(&self.log, event)
    }

    fn until(&self, secs: u64, what: &str, done: impl Fn(&[serde_json::Value]) -> bool) {
        peers::until_logged(&self.log, secs, what, done);
    }

    /// Waits until the last second's line has at least `pictures` decoded pictures of each of
    /// `participants`: the listener receives them (their pictures are never muted).
    fn sees(&self, secs: u64, participants: &[u64], pictures: u64) {
        self.until(secs, "audio", |lines| {
            lines
                .last()
                .is_some_and(|l| participants.iter().all(|p| l["pictures"][p.to_string()].as_u64() >= Some(pictures)))
        });
    }

    /// Waits until, for two seconds in a row, the sites heard are exactly `heard` (audio
    /// packets forwarded) and the others are silent.
    fn hears(&self, secs: u64, participants: &[u64], heard: &[u64]) {
        self.until(secs, "audio", |lines| {
            lines.len() >= 2
                && lines[lines.len() - 2..].iter().all(|line| {
                    participants.iter().all(|p| {
                        let packets = line["packets"][p.to_string()].as_u64().unwrap_or(0);
                        if heard.contains(p) { packets >= 20 } else { packets == 0 }
                    })
                })
        });
    }
}

/// A site in a browser: Debian's Chromium, headless, with its fake camera and microphone, on
/// tests/peers/browser_site.html (Janus's own janus.js), served by Python's http.server.
/// Chromium and its helper processes are killed (as a process group) when dropped.
struct Browser {
    _web: linkage_tests::folder::FolderServer,
    chromium: std::process::Child,
    log: PathBuf,
}

impl Browser {
    fn start(rig: &Rig, n: usize) -> Browser {
        use std::os::unix::process::CommandExt;
        let web = rig.dir.path().join("web");
        std::fs::create_dir_all(&web).unwrap();
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/browser_site.html");
        std::fs::copy(page, web.join("site.html")).unwrap();
        std::os::unix::fs::symlink("/usr/share/javascript/janus-gateway/janus.js", web.join("janus.js")).unwrap();
        std::os::unix::fs::symlink("/usr/share/javascript/webrtc-adapter/adapter.js", web.join("adapter.js")).unwrap();
        let web = linkage_tests::folder::FolderServer::start(&web);
        let port = web.port;

        let (room, join) = (rig.room(), rig.meeting.sites[n].join.clone().unwrap());
        let token = join.token.expect("the chair is given the tokens");
        let url = format!(
            "http://127.0.0.1:{port}/site.html?sfu={}&room={}&id={}&token={token}&display=browser",
            room.sfu, room.room, join.participant
        );
        let log = rig.dir.path().join("chromium.err");
        let profile = rig.dir.path().join("chromium-profile");
        let chromium = Process::new("/usr/bin/chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio"])
            .args(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
            // Janus is offered the machine's own address, not an mDNS name it cannot resolve.
            .arg("--disable-features=WebRtcHideLocalIpsWithMdns")
            .args(["--enable-logging=stderr", "--v=0"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a file for its log"))
            .process_group(0)
            .spawn()
            .expect("chromium runs");
        Browser { _web: web, chromium, log }
    }

    /// Waits until the page said `what` (`site: what` in the console).
    fn until(&self, secs: u64, what: &str) {
        let said = format!("site: {what}");
        let seen = || std::fs::read_to_string(&self.log).is_ok_and(|log| log.contains(&said));
        let page = || {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            log.lines().filter(|line| line.contains("site: ")).map(str::to_owned).collect::<Vec<_>>()
        };
        assert!(
            linkage_tests::wait_for(Duration::from_secs(secs), seen),
            "the browser never said {said}: {:?}",
            page()
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.chromium.id());
        let _ = Process::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.chromium.wait();
    }
}

fn meeting(seat: &Seat) -> &Meeting {
    seat.core.meetings.list.values().next().expect("the meeting")
}

/// A center's server with meetings (Janus started by it), its chair's seat, and a meeting
/// opened with `sites` whose room is made.
struct Rig {
    dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    _center: peers::CenterRig,
    chair: Seat,
    meeting: Meeting,
    ip: std::net::Ipv4Addr,
    clip: PathBuf,
}

impl Rig {
    fn open(sites: &[&str]) -> Rig {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let ip = linkage_tests::own_ipv4();
        let clip = clip(dir.path());
        let mut config = Config::demo().unwrap();
        config.simulation = None;
        config.meeting = Some(MeetingSettings { sfu: SfuSetting::Started { ice_ip: Some(ip) }, public_url: None });
        let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
        let mut chair = Seat::open(&runtime, &dir.path().join("chair"), &center.url(), "seat-1", &config);
        let sites = sites.iter().map(|id| Site { id: id.to_string(), name: format!("{id}村") }).collect();
        let open = MeetingAction::Open { title: "防汛会商".into(), incident: None, sites };
        chair.apply(Command::ChairMeeting { meeting: String::new(), action: open });
        chair.until(30, "the room opened with a join for every site", |core| {
            core.meetings
                .list
                .values()
                .next()
                .is_some_and(|m| m.room.is_some() && m.sites.iter().all(|s| s.join.is_some()))
        });
        let meeting = meeting(&chair).clone();
        assert_eq!(meeting.record[0].enforced, Some(Ok(())), "the opening enforced");
        Rig { dir, runtime, _center: center, chair, meeting, ip, clip }
    }

    fn room(&self) -> streams::meeting::Room {
        streams::meeting::Room { sfu: self.meeting.sfu.clone().unwrap(), room: self.meeting.room.unwrap() }
    }

    fn participant(&self, n: usize) -> u64 {
        self.meeting.sites[n].join.as_ref().unwrap().participant
    }

    /// The `n`-th site on aiortc, sending the clip.
    fn aiortc_site(&self, n: usize) -> Aiortc {
        self.aiortc_site_receiving(n, &[])
    }

    /// The `n`-th site on aiortc, sending the clip and receiving `feeds` as itself.
    fn aiortc_site_receiving(&self, n: usize, feeds: &[u64]) -> Aiortc {
        let room = self.room();
        let join = self.meeting.sites[n].join.clone().unwrap();
        let mut args: Vec<String> =
            ["site", "--url", &room.sfu, "--room", &room.room.to_string()].map(String::from).to_vec();
        args.extend(["--ice-ip".into(), self.ip.to_string(), "--id".into(), join.participant.to_string()]);
        args.extend([
            "--token".into(),
            join.token.expect("the chair is given the tokens"),
            "--display".into(),
            self.meeting.sites[n].site.name.clone(),
        ]);
        args.extend(["--clip".into(), self.clip.display().to_string()]);
        if !feeds.is_empty() {
            args.extend(["--feeds".into(), feeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",")]);
        }
        Aiortc::start(self.dir.path(), &format!("site{}", n + 1), &args)
    }

    /// An aiortc listener of these participants' feeds, joined as a seat of the center does
    /// (with the watch token).
    fn listener(&self, participants: &[u64]) -> Aiortc {
        self.listener_with(participants, Some(&self.watch_token()), "listener")
    }

    /// An aiortc listener of these participants' feeds, joined with `token` (or none).
    fn listener_with(&self, participants: &[u64], token: Option<&str>, name: &str) -> Aiortc {
        let room = self.room();
        let feeds = participants.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let args = ["listen", "--url", &room.sfu, "--room", &room.room.to_string(), "--feeds", &feeds, "--ice-ip"];
        let mut args: Vec<String> = args.map(String::from).to_vec();
        args.push(self.ip.to_string());
        if let Some(token) = token {
            args.extend(["--token".into(), token.into()]);
        }
        Aiortc::start(self.dir.path(), name, &args)
    }

    /// The token with which the center's seats receive the meeting.
    fn watch_token(&self) -> String {
        self.meeting.watch_join.clone().and_then(|j| j.token).expect("a seat of the center is given the watch token")
    }

    /// A seat's receiving: its member in the room (joined with the watch token), and its
    /// subscription to `feed` as that member.
    fn watch(&self, feed: u64) -> (streams::meeting::Member, streams::meeting::Subscriber) {
        let handle = self.runtime.handle();
        let member = self
            .runtime
            .block_on(streams::meeting::Member::join(&self.room(), &self.watch_token(), handle))
            .expect("our seat joins to receive");
        let watching = self
            .runtime
            .block_on(streams::meeting::Subscriber::watch(
                &self.room(),
                (feed, member.private_id),
                streams::meeting::Voice::Dropped,
                streams::no_waker(),
                handle,
            ))
            .expect("our seat subscribes");
        (member, watching)
    }

    /// The chair does `action`; returns once the server said it carried it out.
    fn chair_does(&mut self, action: MeetingAction) {
        let id = self.meeting.id.clone();
        let n = meeting(&self.chair).record.len();
        self.chair.apply(Command::ChairMeeting { meeting: id.clone(), action });
        self.chair.until(20, "the command enforced", |core| {
            core.meetings.list[&id].record.get(n).is_some_and(|r| r.enforced == Some(Ok(())))
        });
    }
}

#[test]
fn the_sfu_holds_what_the_chair_says_mute_all_floor_removal_and_lock() {
    let mut rig = Rig::open(&["v1", "v2", "v3", "v4", "v5", "v6"]);
    // The fifth site also receives the first site, as itself.
    let first = rig.participant(0);
    let receives = [first];
    let five: Vec<Aiortc> =
        (0..5).map(|n| rig.aiortc_site_receiving(n, if n == 4 { &receives } else { &[] })).collect();
    rig.chair.until(60, "five sites present", |core| {
        core.meetings.list.values().next().is_some_and(|m| m.sites.iter().filter(|s| s.present).count() == 5)
    });
    let participants: Vec<u64> = (0..5).map(|n| rig.participant(n)).collect();
    let listener = rig.listener(&participants);
    listener.hears(60, &participants, &participants);
    listener.sees(20, &participants, 5);
    five[4].hears(30, &[first], &[first]);
    // Only a participant receives: a listener without a token the room allows is refused.
    let stranger = rig.listener_with(&participants, None, "stranger");
    stranger.until(20, "refused", |lines| lines.iter().any(|l| l["code"] == 433));

    // Mute all: the SFU forwards no site's audio.
    rig.chair_does(MeetingAction::MuteAll { self_unmute: false });
    listener.hears(20, &participants, &[]);
    rig.chair_does(MeetingAction::UnmuteAll);
    listener.hears(20, &participants, &participants);

    // Roll-call: only the third site is heard; ending it gives everyone their voice back.
    rig.chair_does(MeetingAction::Floor { site: Some("v3".into()) });
    listener.hears(20, &participants, &[participants[2]]);
    rig.chair_does(MeetingAction::Floor { site: None });
    listener.hears(20, &participants, &participants);

    // Removed: kicked, refused when it joins again, and no longer receiving.
    rig.chair_does(MeetingAction::Remove { site: "v5".into() });
    five[4].until(20, "refused", |lines| lines.iter().any(|l| l["code"] == 433));
    assert_eq!(five[4].events("kicked").len(), 1, "the fifth site was kicked");
    five[4].hears(20, &[first], &[]);
    listener.hears(20, &participants, &participants[..4]);
    let id = rig.meeting.id.clone();
    rig.chair.until(20, "the fifth site away", |core| !core.meetings.list[&id].sites[4].present);

    // Locked: the sixth site, invited but not in when the lock came, is refused.
    rig.chair_does(MeetingAction::Lock { locked: true });
    let late = rig.aiortc_site(5);
    late.until(30, "refused", |lines| lines.iter().any(|l| l["code"] == 433));
    listener.hears(10, &participants, &participants[..4]);

    // The record: every action, by the chair's seat, enforced.
    let record = &meeting(&rig.chair).record;
    let actions: Vec<&str> = record.iter().map(|r| r.action.code()).collect();
    assert_eq!(actions, ["open", "mute_all", "unmute_all", "floor", "floor", "remove", "lock"]);
    assert!(record.iter().all(|r| r.by == "officer 1" && r.enforced == Some(Ok(()))), "{record:?}");

    // Closed: the room is gone and the sites with it.
    rig.chair_does(MeetingAction::Close);
    listener.hears(20, &participants, &[]);
}

#[test]
fn a_seat_sends_its_picture_and_voice_and_receives_a_sites_through_janus() {
    let mut rig = Rig::open(&["center", "v1"]);
    let handle = rig.runtime.handle();
    let join = rig.meeting.sites[0].join.clone().unwrap();
    let source = streams::meeting::Source::Test {
        label: "青溪镇综治中心".into(),
        width: 640,
        height: 360,
        fps: 25,
        tone_hz: 660,
    };
    let ours = rig
        .runtime
        .block_on(streams::meeting::Publisher::join(
            &rig.room(),
            (join.participant, join.token.as_deref().expect("the chair is given its token"), "综治中心"),
            &source,
            handle,
        ))
        .expect("our seat publishes");
    let site = rig.aiortc_site(1);
    site.until(30, "webrtcup", |lines| !lines.is_empty());
    // An aiortc listener hears our voice and decodes our picture.
    let listener = rig.listener(&[ours.participant]);
    listener.hears(30, &[ours.participant], &[ours.participant]);
    listener.sees(20, &[ours.participant], 10);
    // Our receiver decodes the site's picture: 320×180, as the clip has it.
    let (_member, watching) = rig.watch(rig.participant(1));
    let pictures = linkage_tests::wait_for(Duration::from_secs(20), || {
        watching.frames.load(std::sync::atomic::Ordering::Acquire) >= 20
    });
    assert!(
        pictures,
        "20 pictures of the site within 20 s: {} ({:?})",
        watching.frames.load(std::sync::atomic::Ordering::Acquire),
        watching.lost()
    );
    let frame = watching.slot.newest().unwrap();
    assert_eq!((frame.width, frame.height), (320, 180));
    // The site's tone makes it talking; muted by the chair at the SFU, it is not.
    let talking = || watching.talking();
    assert!(linkage_tests::wait_for(Duration::from_secs(10), talking), "the site's tone is not heard as talking");
    rig.chair_does(MeetingAction::Mute { site: "v1".into() });
    assert!(linkage_tests::wait_for(Duration::from_secs(10), || !talking()), "a muted site still talks");
}

#[test]
fn in_the_demo_the_simulated_sites_join_a_meeting_a_seat_opens_and_the_seat_shows_their_pictures() {
    let (dir, runtime) = (tempfile::tempdir().unwrap(), tokio::runtime::Runtime::new().unwrap());
    let (_world, mut seat) = demo_chair(&runtime, dir.path());
    let sites: Vec<Site> = seat.core.units.iter().take(3).map(site_of).collect();
    open_in_demo(&mut seat, "防汛会商", sites);

    // What the app does every frame: the panel open, the seat sending, the demo's sites on.
    let mut media = linkage::meeting_media::MeetingMedia::default();
    let own = linkage::meeting_media::own_source(&seat.core);
    let pictures = |media: &linkage::meeting_media::MeetingMedia, seat: &Seat| {
        let frame = media.frame(&seat.core);
        (frame.pictures.len(), frame.sending.clone())
    };
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        seat.drain();
        media.follow(
            &seat.core,
            (true, Some(own.clone()), Some(&[])),
            &Default::default(),
            &streams::no_waker(),
            runtime.handle(),
        );
        let (shown, sending) = pictures(&media, &seat);
        let present = meeting(&seat).sites.iter().filter(|s| s.present).count();
        if shown == 3 && present == 3 && sending == Some(Ok(())) {
            break;
        }
        assert!(std::time::Instant::now() < until, "after 60 s: {present} present, {shown} pictures, own {sending:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The pictures are the sites' own, at their size.
    let frame = media.frame(&seat.core);
    assert!(frame.pictures.values().all(|p| (p.width, p.height) == (480, 270)));
}

/// The demo's center (its simulated sites' media left to the test) and a seat of it that
/// chairs, caught up.
fn demo_chair(runtime: &tokio::runtime::Runtime, dir: &Path) -> (linkage::world::World, Seat) {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let (world, mut seat) = peers::quiet_demo(runtime, dir, linkage::config::SimulatedSms::Smpp);
    seat.until(20, "caught up", |core| core.hub.caught_up);
    (world, seat)
}

/// A unit as a meeting's site.
fn site_of(unit: &linkage::core::unit::LinkedUnit) -> Site {
    Site { id: unit.id.clone(), name: unit.name.clone() }
}

/// The seat opens a meeting with `sites`, and waits until the server made its room.
fn open_in_demo(seat: &mut Seat, title: &str, sites: Vec<Site>) {
    let open = MeetingAction::Open { title: title.into(), incident: None, sites };
    seat.apply(Command::ChairMeeting { meeting: String::new(), action: open });
    seat.until(30, "the room opened", |core| core.meetings.open().next().is_some_and(|m| m.room.is_some()));
}

/// The pid of the Janus a server started under `dir` (its `janus.pid`, wherever the server's
/// data folder is).
fn janus_pid(dir: &Path) -> Option<String> {
    for path in std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()) {
        let found = if path.is_dir() {
            janus_pid(&path)
        } else if path.file_name() == Some("janus.pid".as_ref()) {
            std::fs::read_to_string(&path).ok().map(|p| p.trim().to_owned())
        } else {
            None
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A unit's own seat of `linkage` is a site: it reads the meeting its unit is invited to with
/// its own token and no other, joins as its unit with its picture and voice, and receives the
/// chair and the other sites as itself; the chair's seat sees it present and receives its
/// picture, and so does a seat of the center that watches, with the chair's; its raised hand
/// reaches the chair; Janus killed, the server starts it again and the
/// unit's seat comes back by itself; removed, it is out of the meeting and its peers go. In the demo, whose simulated sites leave the unit a person plays to its seat.
#[test]
fn a_units_seat_joins_as_its_site_sees_the_chair_and_the_others_and_is_seen() {
    let (dir, runtime) = (tempfile::tempdir().unwrap(), tokio::runtime::Runtime::new().unwrap());
    let (world, mut chair) = demo_chair(&runtime, dir.path());
    let (hub, token) = linkage::world::seats::find(&dir.path().join("data"), "justice").unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    config.seat_for_unit("justice").unwrap();
    let mut unit = Seat::open(&runtime, &dir.path().join("unit"), &hub, &token, &config);
    let mut sites: Vec<Site> = chair.core.units.iter().filter(|u| u.id != "justice").take(2).map(site_of).collect();
    sites.extend(chair.core.units.iter().filter(|u| u.id == "justice").map(site_of));
    assert_eq!(sites.len(), 3);
    open_in_demo(&mut chair, "矛盾纠纷会商", sites);
    unit.until(30, "the invitation with the unit's token", |core| {
        core.meeting().is_some_and(|m| m.room.is_some() && core.own_join(m).is_some_and(|j| j.token.is_some()))
    });
    let id = meeting(&chair).id.clone();
    let invited = unit.core.meeting().unwrap();
    let tokens = |m: &Meeting| {
        let sites = m.sites.iter().filter(|s| s.site.id != "justice").map(|s| s.join.as_ref());
        sites
            .chain([m.chair_join.as_ref(), m.watch_join.as_ref()])
            .filter(|j| j.is_some_and(|j| j.token.is_some()))
            .count()
    };
    assert_eq!(tokens(invited), 0, "the unit's seat holds no other's token");
    assert_eq!(tokens(meeting(&chair)), 4, "the chair's seat holds them all");

    // What the app does every frame, at both seats: the panel open, each sending its own.
    let (mut at_chair, mut at_unit, mut at_watcher) = Default::default();
    // And a seat of the center that watches (it does not send as the chair).
    let mut center = Config::demo().unwrap();
    center.simulation = None;
    let mut watcher = Seat::open(&runtime, &dir.path().join("watcher"), &world.hub_url, &world.token, &center);
    let (chair_own, unit_own) =
        (linkage::meeting_media::own_source(&chair.core), linkage::meeting_media::own_source(&unit.core));
    let staffed = ["justice".to_owned()];
    let follow = |media: &mut linkage::meeting_media::MeetingMedia, seat: &mut Seat, own, simulate| {
        seat.drain();
        media.follow(&seat.core, (true, own, simulate), &Default::default(), &streams::no_waker(), runtime.handle());
        media.frame(&seat.core)
    };
    let justice = meeting(&chair).site("justice").and_then(|s| s.join.as_ref()).map(|j| j.participant).unwrap();
    let chair_feed = meeting(&chair).chair_join.as_ref().map(|j| j.participant).unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(90);
    let (seen_by_chair, seen_by_unit) = loop {
        let seen_by_chair = follow(&mut at_chair, &mut chair, Some(chair_own.clone()), Some(&staffed[..]));
        let seen_by_unit = follow(&mut at_unit, &mut unit, Some(unit_own.clone()), None);
        let seen_by_watcher = follow(&mut at_watcher, &mut watcher, None, None);
        if seen_by_chair.pictures.contains_key(&justice)
            && seen_by_unit.pictures.len() == 3
            && seen_by_watcher.pictures.contains_key(&chair_feed)
        {
            break (seen_by_chair, seen_by_unit);
        }
        let present = meeting(&chair).sites.iter().filter(|s| s.present).count();
        assert!(
            std::time::Instant::now() < until,
            "after 90 s: {present} present at the chair, the unit's {:?} pictures (sending {:?}, troubles {:?}), the chair's {:?}, the watcher's {:?}",
            seen_by_unit.pictures.keys(),
            seen_by_unit.sending,
            seen_by_unit.troubles,
            seen_by_chair.pictures.keys(),
            seen_by_watcher.pictures.keys()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(seen_by_unit.sending, Some(Ok(())));
    assert!(meeting(&chair).site("justice").unwrap().present, "the unit's seat is on the chair's roster");
    // Its own picture at the chair's, and at the unit's seat the chair's (both the seats'
    // 640×360) and the two simulated sites' (480×270); never its own.
    let size = |f: &std::sync::Arc<streams::video::Frame>| (f.width, f.height);
    assert_eq!(size(&seen_by_chair.pictures[&justice]), (640, 360));
    let panes = unit.core.meeting().unwrap().panes(unit.core.viewer(true));
    assert_eq!(panes[0].site.id, linkage::core::meeting::CHAIR, "the chair first");
    assert!(!seen_by_unit.pictures.contains_key(&justice));
    let mut sizes: Vec<(u32, u32)> = seen_by_unit.pictures.values().map(size).collect();
    sizes.sort();
    assert_eq!(sizes, [(480, 270), (480, 270), (640, 360)]);
    assert!(!seen_by_chair.pictures.contains_key(&chair_feed), "the chair's seat does not receive itself");

    // Its hand goes up at the chair's.
    unit.apply(Command::ChairMeeting {
        meeting: id.clone(),
        action: MeetingAction::RaiseHand { site: "justice".into() },
    });
    chair.until(20, "the unit's hand", |core| core.meetings.list[&id].hands().iter().any(|s| s.site.id == "justice"));

    // Janus killed: the server starts it again and makes the room again, and the unit's seat
    // comes back by itself (its peers try again), marked away meanwhile and seen again after.
    let pid = janus_pid(dir.path()).expect("the server's Janus has its pid file");
    assert!(Process::new("kill").args(["-9", &pid]).status().unwrap().success());
    let in_room = |seat: &Seat| meeting(seat).site("justice").is_some_and(|s| s.present);
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while in_room(&chair) {
        assert!(std::time::Instant::now() < until, "the unit's seat never marked away after Janus died");
        follow(&mut at_chair, &mut chair, Some(chair_own.clone()), Some(&staffed[..]));
        follow(&mut at_unit, &mut unit, Some(unit_own.clone()), None);
        std::thread::sleep(Duration::from_millis(200));
    }
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let seen_by_chair = follow(&mut at_chair, &mut chair, Some(chair_own.clone()), Some(&staffed[..]));
        let seen_by_unit = follow(&mut at_unit, &mut unit, Some(unit_own.clone()), None);
        if in_room(&chair) && seen_by_chair.pictures.contains_key(&justice) && seen_by_unit.pictures.len() == 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "60 s after Janus died: the unit's seat in {}, sending {:?}, its pictures {:?}, the chair's {:?}",
            in_room(&chair),
            seen_by_unit.sending,
            seen_by_unit.pictures.keys(),
            seen_by_chair.pictures.keys()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_ne!(janus_pid(dir.path()).as_deref(), Some(pid.as_str()), "a new Janus");
    // Removed, it is out: no meeting at its seat, nothing received or sent.
    chair
        .apply(Command::ChairMeeting { meeting: id.clone(), action: MeetingAction::Remove { site: "justice".into() } });
    unit.until(20, "out of the meeting", |core| core.meeting().is_none());
    let after = follow(&mut at_unit, &mut unit, Some(unit_own), None);
    assert!(after.pictures.is_empty() && after.sending.is_none());
    chair
        .until(20, "the unit's seat out of the room", |core| !core.meetings.list[&id].site("justice").unwrap().present);
}

#[test]
fn a_janus_that_cannot_be_reached_is_said_on_the_record_and_the_server_goes_on() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::demo().unwrap();
    config.simulation = None;
    // Nobody listens there.
    let url = format!("http://127.0.0.1:{}/janus", linkage_tests::free_tcp_port());
    config.meeting = Some(MeetingSettings { sfu: SfuSetting::Janus { url, admin_key: "k".into() }, public_url: None });
    let center = peers::center(&runtime, dir.path(), "127.0.0.1:0", &config);
    let mut chair = Seat::open(&runtime, &dir.path().join("chair"), &center.url(), "seat-1", &config);
    let sites = vec![Site { id: "police".into(), name: "青溪派出所".into() }];
    chair.apply(Command::ChairMeeting {
        meeting: String::new(),
        action: MeetingAction::Open { title: "会商".into(), incident: None, sites },
    });
    chair.until(30, "the opening said not carried out", |core| {
        core.meetings
            .list
            .values()
            .next()
            .is_some_and(|m| matches!(&m.record[0].enforced, Some(Err(why)) if why.contains("Janus")))
    });
    // The server goes on: a report is logged and reaches the seat.
    chair.feed.send(peers::report(1));
    chair.until(20, "the incident", |core| core.incidents.all().len() == 1);
}

#[test]
fn a_camera_pulled_into_the_meeting_is_received_by_a_site_as_the_camera_sends_it() {
    let mut rig = Rig::open(&["v1"]);
    let cameras = streams::sim::cameras::CameraServer::start(
        &[streams::sim::cameras::SimCamera { id: "gate".into(), name: "大门".into(), ptz: false }],
        0,
    )
    .unwrap();
    let pulled = Site { id: format!("{}gate", streams::meeting::CAMERA_SITE), name: "大门".into() };
    rig.chair_does(MeetingAction::Invite { sites: vec![pulled] });
    let id = rig.meeting.id.clone();
    rig.chair
        .until(20, "the camera's join", |core| core.meetings.list[&id].sites.get(1).is_some_and(|s| s.join.is_some()));
    // The seat that sends its own picture passes the camera's main stream on.
    let uris = std::collections::HashMap::from([(
        "gate".to_string(),
        linkage::core::camera::StreamUris { main: cameras.main_uri("gate"), sub: Some(cameras.uri("gate")) },
    )]);
    let mut media = linkage::meeting_media::MeetingMedia::default();
    let own = Some(linkage::meeting_media::own_source(&rig.chair.core));
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while !rig.chair.core.meetings.list[&id].sites[1].present {
        assert!(std::time::Instant::now() < until, "the camera never came into the room");
        rig.chair.drain();
        media.follow(&rig.chair.core, (false, own.clone(), None), &uris, &streams::no_waker(), rig.runtime.handle());
        std::thread::sleep(Duration::from_millis(100));
    }
    let camera = rig.chair.core.meetings.list[&id].sites[1].join.as_ref().unwrap().participant;
    let listener = rig.listener(&[camera]);
    listener.until(30, "audio", |lines| {
        lines.last().is_some_and(|l| {
            l["pictures"][camera.to_string()].as_u64() >= Some(10) && l["sizes"][camera.to_string()] == "1280x720"
        })
    });
}

/// A browser is a site like any other: Chromium on janus.js joins with its token, is present on
/// the roster, its picture is decoded by the seat's receiver, and the SFU stops its voice on the
/// chair's mute-all and forwards it again on unmute-all.
#[test]
fn a_browser_joins_as_a_site_and_is_seen_heard_and_muted_like_any_other() {
    let mut rig = Rig::open(&["v1"]);
    let browser = Browser::start(&rig, 0);
    browser.until(60, "webrtcup");
    let id = rig.meeting.id.clone();
    rig.chair.until(30, "the browser's site present", |core| core.meetings.list[&id].sites[0].present);

    let participant = rig.participant(0);
    let (_member, watching) = rig.watch(participant);
    let frames = || watching.frames.load(std::sync::atomic::Ordering::Acquire);
    let pictures = linkage_tests::wait_for(Duration::from_secs(30), || frames() >= 20);
    assert!(pictures, "20 pictures of the browser within 30 s: {} ({:?})", frames(), watching.lost());

    let listener = rig.listener(&[participant]);
    listener.hears(30, &[participant], &[participant]);
    rig.chair_does(MeetingAction::MuteAll { self_unmute: false });
    listener.hears(20, &[participant], &[]);
    rig.chair_does(MeetingAction::UnmuteAll);
    listener.hears(20, &[participant], &[participant]);
}

/// A server killed outright leaves its Janus running on the API port the next start keeps (the
/// address the log gave the sites). The next start stops it first, and the Janus that answers
/// there is the new one: its admin key makes a room.
#[test]
fn a_janus_left_running_by_a_killed_server_is_stopped_by_the_next_start() {
    use linkage::center::meeting::sfu::StartedSfu;
    let dir = tempfile::tempdir().unwrap();
    let (janus, ip) = (dir.path().join("janus"), linkage_tests::own_ipv4());
    let pid = || std::fs::read_to_string(janus.join("janus.pid")).unwrap().trim().to_owned();
    let first = StartedSfu::start(&janus, Some(ip), None).expect("Janus starts");
    let (api, first_pid) = (first.api, pid());
    // A server killed with SIGKILL runs no destructor: its Janus goes on.
    std::mem::forget(first);

    let second = StartedSfu::start(&janus, Some(ip), None).expect("Janus starts again");
    assert_eq!(second.api, api, "the API keeps its port");
    assert_ne!(pid(), first_pid);
    // The first is gone (a zombie of this process, which never reaps it, at most).
    let stat = std::fs::read_to_string(format!("/proc/{first_pid}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')), "{stat}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(async {
            let session = streams::janus::Session::open(&second.url).await?;
            let admin = session.attach().await?;
            let create = serde_json::json!({"request": "create", "admin_key": second.admin_key, "room": 77});
            session.request(admin, create).await
        })
        .unwrap_or_else(|e| {
            let log = std::fs::read_to_string(&second.log).unwrap_or_default();
            panic!("the Janus answering is not the new one: {e}; its log:\n{log}")
        });
}

/// A site whose software dies (killed: no goodbye to Janus) is marked away once Janus lets its
/// session go (its 60 s session timeout), the other staying in; when it joins again it is
/// present again, and the chair's mute-all holds it as before (moderated afresh).
#[test]
fn a_site_that_drops_is_marked_away_and_comes_back_under_the_chairs_mute() {
    let mut rig = Rig::open(&["v1", "v2"]);
    let one = rig.aiortc_site(0);
    let _two = rig.aiortc_site(1);
    let id = rig.meeting.id.clone();
    let present = |core: &linkage::core::Core, n: usize| core.meetings.list[&id].sites[n].present;
    rig.chair.until(60, "both present", |core| present(core, 0) && present(core, 1));
    let participants = [rig.participant(0), rig.participant(1)];
    rig.chair_does(MeetingAction::MuteAll { self_unmute: false });

    drop(one);
    rig.chair.until(120, "v1 away", |core| !present(core, 0));
    assert!(present(&rig.chair.core, 1), "v2 stayed in");
    let _back = rig.aiortc_site(0);
    rig.chair.until(60, "v1 back", |core| present(core, 0));
    let listener = rig.listener(&participants);
    // Receiving both (their pictures), and hearing neither.
    listener.sees(30, &participants, 5);
    listener.hears(30, &participants, &[]);
    rig.chair_does(MeetingAction::UnmuteAll);
    listener.hears(30, &participants, &participants);
}
