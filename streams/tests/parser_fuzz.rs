//! The message parser under random input (proptest): whatever arrives on the socket, parsing
//! returns a value or an error with a reason — it never panics. Failing cases proptest finds
//! are kept in `proptest-regressions/` and replayed first on every run.

use proptest::prelude::*;
use streams::feed::{Body, CoordinateSystem, Envelope, IncidentReport, Location, ReportSource, Severity};

const VALID: &str = r#"{"v":1,"seq":7,"time":"2026-11-28T08:01:00Z","kind":"report","body":{"report_id":"w-1","kind":"dispute","severity":"medium","location":{"lon":120.0,"lat":30.1,"crs":"wgs84"},"grid":"XL-01","reporter":"张伟","source":"field","text":"纠纷","attachments":[]}}"#;

fn severity() -> impl Strategy<Value = Severity> {
    prop_oneof![Just(Severity::Low), Just(Severity::Medium), Just(Severity::High), Just(Severity::Critical)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = Envelope::parse(&text);
    }

    #[test]
    fn a_valid_frame_with_bytes_cut_or_changed_never_panics(cut in 0..VALID.len(), at in 0..VALID.len(), byte in 0x20u8..0x7f) {
        let mut bytes = VALID.as_bytes()[..cut.max(1)].to_vec();
        if at < bytes.len() {
            bytes[at] = byte;
        }
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = Envelope::parse(&text);
        }
    }

    #[test]
    fn any_report_in_range_survives_a_round_trip(
        lon in -180.0f64..180.0, lat in -90.0f64..90.0, severity in severity(),
        text in "\\PC{0,200}", id in "[a-z0-9-]{1,40}",
    ) {
        let report = IncidentReport {
            report_id: id, kind: "fire".into(), severity,
            location: Location { lon, lat, crs: CoordinateSystem::Gcj02 },
            grid: None, reporter: "王芳".into(), reporter_mobile: None, source: ReportSource::Hotline110, text, attachments: vec![],
        };
        let env = Envelope::new(1, Body::Report(report));
        prop_assert_eq!(Envelope::parse(&env.to_text()).unwrap(), env);
    }

    #[test]
    fn a_report_out_of_range_is_refused_not_accepted(lat in prop_oneof![-1000.0f64..-90.001, 90.001f64..1000.0]) {
        let text = VALID.replace("\"lat\":30.1", &format!("\"lat\":{lat}"));
        prop_assert!(Envelope::parse(&text).is_err());
    }
}
