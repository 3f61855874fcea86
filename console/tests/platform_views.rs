//! A platform's cameras in the views: the camera list marks PTZ, offline and removed cameras
//! and finds one by name among many; a PTZ camera's tile moves it while a control is held
//! (by the pointer, or by the arrow keys on the tile shown alone) and stops it when let go, each
//! movement on the record; a tile records an evidence clip for the selected incident, whose
//! trail then lists it.

mod harness;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use harness::{State, harness, state};
use linkage::core::camera::{Camera, CameraStreams, Motion, PlatformLink, Presence, Preset};
use linkage::core::{Command, Effect};
use linkage::wall::clips::RecordingMark;
use streams::feed::{Body, CameraAction, CameraUse, Envelope, FeedUpdate};

fn on_platform(channel: &str, name: &str, ptz: bool, presence: Presence) -> Camera {
    Camera {
        id: format!("wvp/34020000001320000001/{channel}"),
        name: name.into(),
        lon: 119.99700,
        lat: 30.13420,
        heading: 0.0,
        fov: if ptz { 360.0 } else { 0.0 },
        streams: CameraStreams::Platform {
            platform: "wvp".into(),
            device: "34020000001320000001".into(),
            channel: channel.into(),
        },
        ptz,
        presence,
        village: None,
    }
}

const DOME: &str = "wvp/34020000001320000001/34020000001310000001";

fn with_platform() -> State {
    let mut s = state();
    let listed = vec![
        on_platform("34020000001310000001", "镇政府广场球机", true, Presence::Online),
        on_platform("34020000001310000002", "河道枪机", false, Presence::Offline),
        on_platform("34020000001310000003", "东岭路口", false, Presence::Offline),
    ];
    s.core.platform_directory("wvp", listed);
    // Read again: the river camera is gone from the platform.
    let now = vec![
        on_platform("34020000001310000001", "镇政府广场球机", true, Presence::Online),
        on_platform("34020000001310000003", "东岭路口", false, Presence::Offline),
    ];
    s.core.platform_directory("wvp", now);
    s.core.wall.tiles[0] = Some(DOME.into());
    s
}

/// Opens the dome's tile menu, its presets, and chooses `entry`.
fn choose_preset_entry(h: &mut egui_kittest::Harness<'_, State>, entry: &str) {
    h.get_by_label("视频墙 1: 镇政府广场球机").click_secondary();
    h.run();
    h.get_by_label("预置位").click();
    h.run();
    h.get_by_label(entry).click();
    h.run();
}

/// A click of the primary button at `at`, as a hand makes it.
fn click(h: &mut egui_kittest::Harness<'_, State>, at: egui::Pos2) {
    h.hover_at(at);
    h.run();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.run();
    }
}

fn steered(s: &State) -> Vec<Motion> {
    s.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Steer { camera, motion } if camera == DOME => Some(*motion),
            _ => None,
        })
        .collect()
}

#[test]
fn the_camera_list_marks_what_the_platform_said_and_finds_a_camera_by_name() {
    let mut h = harness(with_platform());
    h.get_by_label("摄像机列表").click();
    h.run();
    h.get_by_label("镇政府广场球机 · 云台");
    h.get_by_label("河道枪机 · 已移除");
    h.get_by_label("杏林农贸市场");
    h.get_by_label("查找").click();
    h.run();
    h.get_by_label("查找").type_text("路口");
    h.run();
    h.get_by_label("东岭路口 · 离线");
    assert!(h.query_by_label("河道枪机 · 已移除").is_none(), "the filter hides the others");
    assert!(h.query_by_label("杏林农贸市场").is_none(), "the filter hides the others");

    // A platform whose last read failed says why above the list; it is read again on demand.
    let link = PlatformLink {
        id: "wvp".into(),
        name: "镇视频平台".into(),
        cameras: Some(1),
        trouble: Some("用户名或密码错误 (100)".into()),
    };
    h.state_mut().core.video_platforms = vec![link];
    h.run();
    h.get_by_label("镇视频平台：目录读取失败：用户名或密码错误 (100)");
    h.get_by_label("刷新平台目录").click();
    h.run();
    assert_eq!(h.state().effects, [Effect::ResyncPlatforms]);
}

#[test]
fn a_ptz_tile_moves_its_camera_while_a_control_is_held_and_stops_when_let_go() {
    let mut h = harness(with_platform());
    let tile = h.get_by_label("视频墙 1: 镇政府广场球机").rect().center();
    h.hover_at(tile);
    h.run();
    // The controls show while the pointer is on the tile; a fixed camera's tile has none.
    let left = h.get_by_label("云台左").rect().center();
    assert_eq!(h.query_all_by_label("云台左").count(), 1);
    let fixed = h.get_by_label("视频墙 2: 青溪大桥").rect().center();
    h.hover_at(fixed);
    h.run();
    assert!(h.query_by_label("云台左").is_none(), "a fixed camera's tile has no PTZ controls");
    h.hover_at(left);
    h.run();
    h.drag_at(left);
    h.run();
    h.run();
    assert_eq!(steered(h.state()), [Motion::Left], "moves once while held");
    h.event(egui::Event::PointerButton {
        pos: left,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run();
    assert_eq!(steered(h.state()), [Motion::Left, Motion::Stop]);

    // Shown alone, the arrow keys steer it.
    h.state_mut().core.wall.focused = Some(0);
    h.run();
    h.key_down(egui::Key::ArrowUp);
    h.run();
    h.key_up(egui::Key::ArrowUp);
    h.run();
    assert_eq!(steered(h.state()), [Motion::Left, Motion::Stop, Motion::Up, Motion::Stop]);
    // Each movement started is on the record (the stops are not).
    let logged: Vec<String> =
        h.state()
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(Body::UseCamera(CameraUse {
                    camera, action: CameraAction::Steered { motion }, ..
                })) if camera == DOME => Some(motion.clone()),
                _ => None,
            })
            .collect();
    assert_eq!(logged, ["left", "up"]);
}

#[test]
fn a_ptz_tiles_menu_goes_to_a_preset_and_saves_the_view_as_the_next_one() {
    let mut s = with_platform();
    s.presets.insert(DOME.into(), vec![Preset { number: 1, name: "广场东侧".into(), stable: true }]);
    let mut h = harness(s);
    choose_preset_entry(&mut h, "转到 1 广场东侧");
    choose_preset_entry(&mut h, "当前位置存为预置位 2");
    let asked: Vec<(u8, bool)> = h
        .state()
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Preset { camera, number, save } if camera == DOME => Some((*number, *save)),
            _ => None,
        })
        .collect();
    assert_eq!(asked, [(1, false), (2, true)]);
    let logged = h.state().effects.iter().filter(|e| matches!(e, Effect::Send(Body::UseCamera(_)))).count();
    assert_eq!(logged, 2, "both on the record");
}

#[test]
fn a_preset_marked_on_the_map_turns_the_dome_from_the_map_and_from_a_nearby_incident() {
    let mut s = with_platform();
    s.presets.insert(DOME.into(), vec![Preset { number: 1, name: "广场东侧".into(), stable: true }]);
    let mut h = harness(s);
    choose_preset_entry(&mut h, "在地图上标注 1");
    assert_eq!(h.state().core.placing_preset, Some((DOME.into(), 1)));
    // The map's next click is the place; it goes into the log for every seat.
    let map = h.get_by_label("地图（拖动平移，滚轮缩放）").rect();
    let spot = map.center() + egui::vec2(40.0, 30.0);
    click(&mut h, spot);
    assert_eq!(h.state().core.placing_preset, None);
    let placed = h.state().effects.iter().find_map(|e| match e {
        Effect::Send(Body::UseCamera(CameraUse {
            action: CameraAction::PresetPlaced { number, lon, lat }, ..
        })) => Some((*number, *lon, *lat)),
        _ => None,
    });
    let (number, lon, lat) = placed.expect("the mark is sent");
    assert_eq!(number, 1);
    assert_eq!(h.state().core.preset_places[DOME][&1], (lon, lat));
    // Its mark on the map: a click turns the dome there and keeps it on the wall.
    h.state_mut().effects.clear();
    h.state_mut().core.wall.tiles[0] = None;
    click(&mut h, spot);
    assert!(h.state().effects.contains(&Effect::Preset { camera: DOME.into(), number: 1, save: false }));
    assert!(h.state().core.wall.tiles.contains(&Some(DOME.into())), "{:?}", h.state().core.wall.tiles);

    // An incident where the preset looks offers to turn the dome there.
    h.state_mut().effects.clear();
    let fire = h.state().core.incidents.get("E000002").unwrap().incident.report.location;
    let core = &mut h.state_mut().core;
    let dome = core.cameras.iter_mut().find(|c| c.id == DOME).unwrap();
    (dome.lon, dome.lat) = (fire.lon + 0.001, fire.lat);
    core.apply(Command::PlacingPreset(Some((DOME.into(), 1))));
    core.apply(Command::PlacePreset { lon: fire.lon, lat: fire.lat + 0.0002 });
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000002 [特别严重] 火情").click();
    h.run();
    h.get_by_label("转向：镇政府广场球机 预置位 1（距事件 22 米）").click();
    h.run();
    assert!(h.state().effects.contains(&Effect::Preset { camera: DOME.into(), number: 1, save: false }));
}

#[test]
fn a_tile_records_evidence_for_the_selected_incident_and_the_trail_lists_the_clip() {
    let mut h = harness(state());
    h.get_by_role_and_label(Role::Region, "事件队列").get_by_label_contains("E000002 [特别严重] 火情").click();
    h.run();
    h.get_by_label("视频墙 1: 杏林农贸市场").click_secondary();
    h.run();
    h.get_by_label("录像取证").click();
    h.run();
    h.get_by_label("5分钟").click();
    h.run();
    let record = Effect::Record { tile: 0, camera: "xl-market".into(), minutes: 5, incident: Some("E000002".into()) };
    assert_eq!(h.state().effects, [record]);
    // While it records, the menu offers to stop it.
    h.state_mut().recording.insert("xl-market".into(), RecordingMark::Since(std::time::Instant::now()));
    h.get_by_label("视频墙 1: 杏林农贸市场").click_secondary();
    h.run();
    assert!(h.query_by_label("录像取证").is_none());
    h.get_by_label("停止录像").click();
    h.run();
    assert_eq!(h.state().effects.last(), Some(&Effect::StopRecording { camera: "xl-market".into() }));

    // The clip kept: its record goes to the log, and the incident's trail lists it.
    let action = CameraAction::Clip {
        file: "xl-market-20261206-170300.mkv".into(),
        sha256: "9f86d081884c".repeat(5) + "abcd",
        bytes: 1_843_200,
        seconds: 60.0,
        cut: Some("No space left on the resource.".into()),
    };
    let Effect::Send(Body::UseCamera(used)) =
        h.state_mut().core.clip_kept("xl-market", Some("E000002".into()), action, chrono::Utc::now())
    else {
        panic!("no record")
    };
    assert_eq!((used.camera_name.as_str(), used.incident.as_deref()), ("杏林农贸市场", Some("E000002")));
    let logged = CameraUse { by: "值班员 张".into(), ..used };
    let event = Envelope::new(50, Body::CameraUsed(logged));
    h.state_mut().core.on_feed(FeedUpdate::Event(event));
    h.run();
    h.get_by_label_contains(
        "保存录像：杏林农贸市场 60秒（xl-market-20261206-170300.mkv，SHA-256 9f86d081884c…） （中断：No space left on the resource.） · 值班员 张",
    );
}
