//! The config's parsing, against made-up files.

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(
        Path::new("/etc/linkage.toml"),
        text,
        &|p: &Path| match p.file_name().and_then(|n| n.to_str()) {
            Some("grids.geojson") => Ok(DEMO_GRIDS.into()),
            Some("kinds.toml") => Ok(DEMO_KINDS.into()),
            _ => Err(format!("cannot read {}: no such file", p.display())),
        },
        &|_| None,
    )
}

const MINIMAL: &str = "[map]\ngrids = \"grids.geojson\"\nkinds = \"kinds.toml\"\n";

#[test]
fn the_demo_config_loads() {
    let c = Config::demo().unwrap();
    assert_eq!(c.cameras.len(), 8);
    assert!(c.units.iter().any(|u| u.tier == Tier::One));
    assert!(c.simulation.is_some());
    assert_eq!(c.hub, HubSetting::Embedded { listen: "127.0.0.1:0".into(), data_dir: None });
}

#[test]
fn a_basemap_that_is_not_there_is_refused_with_its_line_and_the_grids_may_be_gcj02() {
    let e = parse(&format!("{MINIMAL}tiles = \"nowhere.mbtiles\"\n")).unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.reason.contains("nowhere.mbtiles"), "{e}");
    let wgs = parse(MINIMAL).unwrap();
    let gcj = parse(&format!("{MINIMAL}grids_crs = \"gcj02\"\n")).unwrap();
    // Read as GCJ-02, the same numbers lie about 500 m south-west of where WGS-84 puts them.
    let (a, b) = (wgs.grids.grids[0].centroid, gcj.grids.grids[0].centroid);
    let (dx, dy) = ((a.x() - b.x()) * 96_000.0, (a.y() - b.y()) * 111_000.0);
    assert!((200.0..800.0).contains(&dx.hypot(dy)), "moved {dx:.0} m east, {dy:.0} m north");
    assert!(parse(&format!("{MINIMAL}grids_crs = \"bd09\"\n")).is_err(), "an unknown system is refused");
}

#[test]
fn a_typo_is_refused_with_file_and_line() {
    let e = parse(&format!("{MINIMAL}\n[simulation]\nenabeld = true\n")).unwrap_err();
    assert_eq!(e.file, Path::new("/etc/linkage.toml"));
    assert_eq!(e.line, Some(6));
    assert!(e.reason.contains("enabeld"), "{e}");
}

#[test]
fn a_bad_tier_names_the_unit_and_its_line() {
    let text = format!("{MINIMAL}\n[[unit]]\nid = \"x\"\nname = \"X\"\ntier = 4\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.line, Some(5));
    assert!(e.to_string().contains("tier must be 1, 2 or 3"), "{e}");
}

#[test]
fn a_unit_named_as_every_unit_is_refused_with_its_line() {
    // `*` routes the meetings to every unit's seat: no unit may be called that.
    let text = format!("{MINIMAL}\n[[unit]]\nid = \"*\"\nname = \"X\"\ntier = 1\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.line, Some(5));
    assert!(e.to_string().contains("reserved"), "{e}");
}

#[test]
fn a_missing_grid_file_is_reported_at_the_line_that_names_it() {
    let e = parse("[map]\nkinds = \"kinds.toml\"\ngrids = \"nowhere.geojson\"\n").unwrap_err();
    assert_eq!(e.line, Some(3));
    assert!(e.reason.contains("nowhere.geojson"), "{e}");
}

#[test]
fn a_camera_password_never_appears_in_an_error() {
    let text = format!(
        "{MINIMAL}[[camera]]\nid = \"c\"\nname = \"C\"\nlon = 1\nlat = 1\nmain = \"ftp://admin:s3cret@10.0.0.1/\"\n"
    );
    let e = parse(&text).unwrap_err();
    assert!(!e.to_string().contains("s3cret"), "{e}");
    assert_eq!(e.line, Some(4));
}

#[test]
fn a_remote_hub_takes_a_token_or_a_user_but_not_both() {
    let remote =
        |extra: &str| parse(&format!("[hub]\nmode = \"remote\"\nurl = \"ws://10.0.0.1:7700\"\n{extra}{MINIMAL}"));
    let c = remote("user = \"zhang\"\n").unwrap();
    assert_eq!(
        c.hub,
        HubSetting::Remote { url: "ws://10.0.0.1:7700".into(), who: Credentials::User("zhang".into()), ca: None }
    );
    assert!(remote("user = \"zhang\"\ntoken = \"t\"\n").unwrap_err().reason.contains("either token"));
    assert!(remote("").unwrap_err().reason.contains("either token"));
    let e = remote("token = \"env:LINKAGE_NO_SUCH_VARIABLE\"\n").unwrap_err();
    assert!(e.reason.contains("LINKAGE_NO_SUCH_VARIABLE"), "{e}");
}

#[test]
fn a_wrong_hub_mode_is_refused() {
    let e = parse(&format!("[hub]\nmode = \"cloud\"\n{MINIMAL}")).unwrap_err();
    assert_eq!(e.line, Some(2));
}

#[test]
fn a_units_a_and_b_posts_are_read_with_their_hours_and_a_wrong_post_is_refused_with_its_line() {
    let unit = "\n[[unit]]\nid = \"justice\"\nname = \"司法所\"\ntier = 2\n";
    let posts = "[[unit.post]]\npost = \"A\"\nname = \"陈立新\"\nsms = [\"13800000011\"]\n\
                 [[unit.post]]\npost = \"B\"\nname = \"李所长\"\nsms = [\"13800000012\"]\nhours = \"17:30-08:30\"\n";
    let c = parse(&format!("{MINIMAL}{unit}{posts}")).unwrap();
    let p = &c.units[0].posts;
    assert_eq!(
        (p[0].kind, p[0].name.as_str(), p[0].hours),
        (PostKind::A, "陈立新", Hours::office()),
        "tier 2: office hours"
    );
    assert_eq!(p[1].hours, Hours::parse("17:30-08:30").unwrap());
    assert_eq!(c.dispatch.hand_over_at, crate::core::roster::HAND_OVER_AT);

    let e = parse(&format!("{MINIMAL}{unit}[[unit.post]]\npost = \"C\"\nname = \"x\"\n")).unwrap_err();
    assert!(e.reason.contains("\"A\" or \"B\""), "{e}");
    assert_eq!(e.line, Some(5), "the unit's line: {e}");
    let e = parse(&format!("{MINIMAL}{unit}[[unit.post]]\npost = \"A\"\nname = \"x\"\nhours = \"9-5\"\n")).unwrap_err();
    assert!(e.reason.contains("HH:MM-HH:MM"), "{e}");
    let e = parse(&format!("{MINIMAL}[dispatch]\nhand_over_at = 1.5\n")).unwrap_err();
    assert!(e.reason.contains("between 0 and 1"), "{e}");
}

#[test]
fn a_unit_seat_names_a_configured_unit_and_says_hello_as_its_terminal() {
    let unit = "\n[[unit]]\nid = \"justice\"\nname = \"司法所\"\ntier = 2\n";
    let remote = "[hub]\nmode = \"remote\"\nurl = \"ws://10.0.0.1:7700\"\ntoken = \"t\"\nunit = \"justice\"\n";
    let c = parse(&format!("{remote}{MINIMAL}{unit}")).unwrap();
    assert_eq!(c.seat_unit.as_deref(), Some("justice"));
    assert_eq!(c.seat_role(), streams::feed::Role::UnitTerminal);
    assert!(c.core().desk.unit.is_some() && c.core().wall.tiles.is_empty(), "a desk, no wall");
    let e = parse(&format!("{}{MINIMAL}{unit}", remote.replace("\"justice\"", "\"police\""))).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.reason.contains("police"), "{e}");
    let mut demo = Config::demo().unwrap();
    assert!(demo.seat_for_unit("nobody").unwrap_err().contains("justice"), "lists the units there are");
    assert_eq!(demo.simulation.as_ref().map(|s| s.staffed.clone()), Some(vec!["justice".to_owned()]));
}

#[test]
fn a_cmpp_gateway_takes_the_place_of_the_smsc_and_its_fields_are_checked_with_their_lines() {
    let cmpp =
        "[dispatch.cmpp]\naddress = \"127.0.0.1:7890\"\nsp_id = \"901234\"\nsecret = \"s\"\nsrc_id = \"10690001\"\n";
    let c = parse(&format!("{MINIMAL}{cmpp}")).unwrap();
    let settings = c.dispatch.cmpp.as_ref().unwrap();
    assert_eq!((settings.sp_id.as_str(), settings.src_id.as_str()), ("901234", "10690001"));
    assert!(!format!("{settings:?}").contains("secret = "), "the secret is never printed");
    let e = parse(&format!("{MINIMAL}{}", cmpp.replace("901234", "9012"))).unwrap_err();
    assert_eq!(e.line, Some(6), "the sp_id's line: {e}");
    assert!(e.reason.contains("6-character"), "{e}");
    assert_eq!(settings.active_test_every, std::time::Duration::from_secs(30), "the default");
    let e = parse(&format!("{MINIMAL}{cmpp}active_test_secs = 0\n")).unwrap_err();
    assert!(e.line.is_some() && e.reason.contains("1–300"), "{e}");
    let both = format!(
        "{MINIMAL}{cmpp}[dispatch.sms]\naddress = \"127.0.0.1:2775\"\nsystem_id = \"x\"\npassword = \"p\"\nsource = \"1\"\n"
    );
    assert!(parse(&both).unwrap_err().reason.contains("choose one SMS gateway"));
}

#[test]
fn a_bridge_peer_is_checked_line_by_line_and_its_secret_never_printed() {
    let peer = |extra: &str| {
        format!(
            "{MINIMAL}\n[bridge]\nlisten = \"127.0.0.1:8790\"\n\n[[bridge.peer]]\nid = \"110\"\nname = \"县110\"\n\
             source = \"hotline110\"\nsecret = \"0123456789abcdef-secret\"\nurl = \"http://110.example:9000/\"\n\
             default_kind = \"dispute\"\n{extra}"
        )
    };
    let c = parse(&peer("")).unwrap();
    let bridge = c.bridge.as_ref().unwrap();
    assert_eq!(bridge.retry, [60, 300, 600].map(std::time::Duration::from_secs));
    assert_eq!(bridge.peers[0].url, "http://110.example:9000", "the trailing slash dropped");
    assert!(!format!("{bridge:?}").contains("secret"), "{bridge:?}");
    let e = parse(&peer("categories = { \"纠纷\" = \"no_such_kind\" }\n")).unwrap_err();
    assert!(e.reason.contains("no_such_kind"), "{e}");
    let e = parse(&peer("").replace("hotline110", "hotline119")).unwrap_err();
    assert_eq!(e.line, Some(11), "{e}");
    let e = parse(&peer("").replace("0123456789abcdef-secret", "short")).unwrap_err();
    assert!(e.reason.contains("16"), "{e}");
    let e = parse(&peer("").replace("listen = \"127.0.0.1:8790\"", "listen = \"port 8790\"")).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
}

#[test]
fn a_video_platform_is_read_with_its_password_from_a_file_and_a_wrong_one_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wvp.pass"), "青溪2026\n").unwrap();
    let platform = |extra: &str| {
        format!(
            "{MINIMAL}\n[[video_platform]]\nid = \"wvp\"\nname = \"镇视频平台\"\nkind = \"wvp\"\n\
             url = \"http://10.20.0.5:18080/\"\nuser = \"linkage\"\npassword = \"file:wvp.pass\"\n{extra}"
        )
    };
    let read = |text: &str| {
        Config::parse(
            &dir.path().join("linkage.toml"),
            text,
            &|p: &Path| match p.file_name().and_then(|n| n.to_str()) {
                Some("grids.geojson") => Ok(DEMO_GRIDS.into()),
                Some("kinds.toml") => Ok(DEMO_KINDS.into()),
                _ => Err(format!("cannot read {}", p.display())),
            },
            &|_| None,
        )
    };
    let c = read(&platform("crs = \"gcj02\"\n")).unwrap();
    let p = &c.platforms[0];
    assert_eq!((p.url.as_str(), p.password.as_str()), ("http://10.20.0.5:18080", "青溪2026"));
    assert_eq!((p.crs, p.resync), (CoordinateSystem::Gcj02, std::time::Duration::from_secs(300)));
    assert!(!format!("{p:?}").contains("青溪2026"), "the password is never printed");

    let e = read(&platform("").replace("\"wvp\"\nurl", "\"hikvision\"\nurl")).unwrap_err();
    assert_eq!(e.line, Some(8), "{e}");
    assert!(e.reason.contains("only wvp"), "{e}");
    let e = read(&platform("").replace("file:wvp.pass", "file:nowhere.pass")).unwrap_err();
    assert_eq!(e.line, Some(11), "{e}");
    assert!(e.reason.contains("nowhere.pass"), "{e}");
    let e = read(&platform("").replace("http://10.20.0.5", "10.20.0.5")).unwrap_err();
    assert!(e.reason.contains("http://"), "{e}");
    let e = read(&platform("").replace("http://10.20.0.5", "https://10.20.0.5")).unwrap_err();
    assert!(e.reason.contains("https is not supported yet"), "{e}");
    // Civil codes map to the grid file's villages, the longest prefix first.
    let mapped = read(&platform("villages = { \"3301\" = \"东湾村\", \"330110001\" = \"杏林社区\" }\n")).unwrap();
    assert_eq!(mapped.platforms[0].village_of("330110001002"), Some("杏林社区"));
    assert_eq!(mapped.platforms[0].village_of("330120"), Some("东湾村"));
    assert_eq!(mapped.platforms[0].village_of("4401"), None);
    let e = read(&platform("villages = { \"3301\" = \"月球村\" }\n")).unwrap_err();
    assert!(e.reason.contains("月球村") && e.reason.contains("not a village"), "{e}");
    let twice = format!("{}{}", platform(""), &platform("")[MINIMAL.len()..]);
    assert!(read(&twice).unwrap_err().reason.contains("unique"));
}

#[test]
fn an_onvif_camera_is_its_own_platform_and_gives_its_own_streams() {
    let camera = |extra: &str| {
        format!(
            "{MINIMAL}\n[[camera]]\nid = \"gate\"\nname = \"北门球机\"\nlon = 120.0\nlat = 30.1\n\
             onvif = \"http://10.20.0.64/onvif/device_service\"\nuser = \"admin\"\n{extra}"
        )
    };
    let c = parse(&camera("password = \"hik12345\"\n")).unwrap();
    assert_eq!(c.cameras[0].on_platform(), Some(("gate", "onvif", "")));
    let p = &c.platforms[0];
    assert_eq!(
        (p.kind, p.id.as_str(), p.url.as_str()),
        (PlatformKind::Onvif, "gate", "http://10.20.0.64/onvif/device_service")
    );
    assert!(!format!("{p:?}").contains("hik12345"));
    let e = parse(&camera("password = \"x\"\nmain = \"rtsp://10.20.0.64/1\"\n")).unwrap_err();
    assert!(e.reason.contains("gives its own streams"), "{e}");
    assert!(parse(&camera("")).unwrap_err().reason.contains("needs user and password"));
    let without = format!(
        "{MINIMAL}\n[[camera]]\nid = \"c\"\nname = \"C\"\nlon = 120.0\nlat = 30.1\nmain = \"rtsp://x/1\"\nuser = \"u\"\n"
    );
    assert!(parse(&without).unwrap_err().reason.contains("go with onvif"));
}

#[test]
fn a_meeting_section_names_a_sites_janus_with_its_key_or_none_and_a_wrong_one_is_refused_with_its_line() {
    let c = parse(&format!("{MINIMAL}\n[meeting]\n")).unwrap();
    assert_eq!(c.meeting.unwrap().sfu, SfuSetting::Started { ice_ip: None });
    let site = format!("{MINIMAL}\n[meeting]\njanus = \"http://10.0.0.6:8088/janus/\"\nadmin_key = \"k-secret\"\n");
    let meeting = parse(&site).unwrap().meeting.unwrap();
    assert_eq!(
        meeting.sfu,
        SfuSetting::Janus { url: "http://10.0.0.6:8088/janus".into(), admin_key: "k-secret".into() }
    );
    assert!(!format!("{meeting:?}").contains("k-secret"), "{meeting:?}");
    let e = parse(&format!("{MINIMAL}\n[meeting]\njanus = \"http://10.0.0.6:8088/janus\"\n")).unwrap_err();
    assert_eq!((e.line, e.reason.contains("admin_key")), (Some(6), true), "{e}");
    let e = parse(&format!("{MINIMAL}\n[meeting]\nice_ip = \"localhost\"\n")).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
    let e = parse(&site.replace("http://10", "ftp://10")).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
    assert!(parse(&format!("{MINIMAL}\n[meeting]\nroom = 1\n")).is_err(), "an unknown key");
}

/// A county seat reads every township's grid file into one map; a grid code in two files is
/// refused, and a file that cannot be read is named.
#[test]
fn a_county_seat_reads_every_townships_grids_into_one_map() {
    const DONGSHAN: &str = r#"{"type":"FeatureCollection","name":"东山乡","features":[{"type":"Feature","properties":{"code":"DS-01","name":"东山村第1网格","village":"东山村"},"geometry":{"type":"Polygon","coordinates":[[[120.20,30.20],[120.21,30.20],[120.21,30.21],[120.20,30.21],[120.20,30.20]]]}}]}"#;
    let parse = |text: &str| {
        Config::parse(
            Path::new("/etc/linkage.toml"),
            text,
            &|p: &Path| match p.file_name().and_then(|n| n.to_str()) {
                Some("grids.geojson" | "again.geojson") => Ok(DEMO_GRIDS.into()),
                Some("dongshan.geojson") => Ok(DONGSHAN.into()),
                Some("kinds.toml") => Ok(DEMO_KINDS.into()),
                _ => Err(format!("cannot read {}: no such file", p.display())),
            },
            &|_| None,
        )
    };
    let county = parse(&format!("{MINIMAL}more_grids = [\"dongshan.geojson\"]\n")).unwrap();
    let qingxi = parse(MINIMAL).unwrap();
    assert_eq!(county.grids.grids.len(), qingxi.grids.grids.len() + 1);
    assert_eq!(county.grids.name, "青溪镇", "the first file names the map");
    assert_eq!(county.grids.locate(120.205, 30.205).map(|g| county.grids.grids[g].code.as_str()), Some("DS-01"));
    assert!(county.grids.villages.iter().any(|v| v.name == "东山村"));
    let twice = parse(&format!("{MINIMAL}more_grids = [\"again.geojson\"]\n")).unwrap_err();
    assert!(twice.to_string().contains("appears twice"), "{twice}");
    let missing = parse(&format!("{MINIMAL}more_grids = [\"nowhere.geojson\"]\n")).unwrap_err();
    assert!(missing.to_string().contains("nowhere.geojson"), "{missing}");
}
