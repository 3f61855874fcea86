//! Which of the units' channels work, from the channel tests in the log (通道测试): each test
//! run sends every channel of every unit (or of one) a test message; its outcome is the newest
//! word on that channel — green when its peer took it, red when it failed (and green again when
//! the outbox's retry gets through), grey when never tested. The server runs a test on a seat's
//! demand and on a schedule; what the messages are and when a run is due are pure functions
//! here, time passed in.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use linkage_protocol::{ChannelTestRequest, ChannelTestResult, test_run};

use super::Core;
use super::dispatch::Outgoing;
use super::order::ChannelKind;

/// The newest outcome of a channel's test.
#[derive(Debug, Clone, PartialEq)]
pub struct Tested {
    pub ok: bool,
    pub at: DateTime<Utc>,
    /// The peer's receipt, or why it failed.
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct ChannelHealth {
    /// (unit, channel) → its newest test outcome.
    pub tested: BTreeMap<(String, ChannelKind), Tested>,
    /// The runs asked for: the request's sequence number → (the unit, or all; when).
    pub runs: BTreeMap<u64, (Option<String>, DateTime<Utc>)>,
    /// When the log began (a schedule counts from there until the first run).
    pub since: Option<DateTime<Utc>>,
}

impl ChannelHealth {
    pub fn of(&self, unit: &str, channel: ChannelKind) -> Option<&Tested> {
        self.tested.get(&(unit.to_owned(), channel))
    }

    pub(crate) fn requested(&mut self, seq: u64, request: &ChannelTestRequest, at: DateTime<Utc>) {
        self.runs.insert(seq, (request.unit.clone(), at));
    }

    pub(crate) fn tested(&mut self, result: &ChannelTestResult, at: DateTime<Utc>) {
        let tested = Tested { ok: result.ok, at, detail: result.detail.clone() };
        self.tested.insert((result.unit.clone(), result.channel), tested);
    }
}

/// The sequence number of a test run's id (`T` + the request's), if it is one.
pub fn run_of(order: &str) -> Option<u64> {
    order.strip_prefix('T').and_then(|n| n.parse().ok())
}

impl Core {
    /// The test messages of run `seq`: every channel of the unit (or of every unit) that has a
    /// contact at the time of the request, each with its key (`T<seq>/<unit>/<channel>`).
    pub fn test_messages(&self, seq: u64) -> Vec<Outgoing> {
        let Some((only, at)) = self.channel_health.runs.get(&seq) else { return vec![] };
        let run = test_run(seq);
        let mut out = vec![];
        for unit in self.units.iter().filter(|u| only.as_ref().is_none_or(|o| o == &u.id)) {
            for channel in ChannelKind::ALL {
                let Some(address) = self.contact(&unit.id, channel, *at) else { continue };
                let text = format!("【{}】通道测试：这是联动指挥台对{}的例行测试，无需回复。", self.center, unit.name);
                out.push(Outgoing {
                    key: format!("{run}/{}/{}", unit.id, channel.code()),
                    order: run.clone(),
                    incident: String::new(),
                    unit: unit.id.clone(),
                    channel,
                    address,
                    text,
                    acknowledge_by: *at,
                    details: None,
                });
            }
        }
        out
    }

    /// The scheduled test due at `now`, if the last run (or the log's start) is `every` ago.
    pub fn channel_tests_due(&self, now: DateTime<Utc>, every: Duration) -> Option<ChannelTestRequest> {
        let health = &self.channel_health;
        let last = health.runs.values().map(|(_, at)| *at).max().or(health.since)?;
        (every > Duration::zero() && now - last >= every).then(|| ChannelTestRequest {
            key: format!("schedule/{}", now.with_timezone(&super::ZONE).format("%Y-%m-%d")),
            unit: None,
            by: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::order::fixtures::at;
    use linkage_protocol::{Body, Envelope, FeedUpdate};

    fn core() -> Core {
        let unit = |id: &str, sms: &[&str], radio: Option<&str>| crate::unit::LinkedUnit {
            id: id.into(),
            name: id.into(),
            tier: crate::unit::Tier::One,
            roles: vec![],
            area: vec![],
            contact: String::new(),
            sms: sms.iter().map(|s| s.to_string()).collect(),
            radio: radio.map(|r| r.parse().unwrap()),
            base: None,
            posts: vec![],
        };
        Core {
            units: vec![unit("police", &["13800000001"], Some("127.0.0.1:15101")), unit("justice", &[], None)],
            center: "青溪镇综治中心".into(),
            ..Core::default()
        }
    }

    fn event(seq: u64, minute: i64, body: Body) -> FeedUpdate {
        FeedUpdate::Event(Envelope { time: at(minute), ..Envelope::new(seq, body) })
    }

    #[test]
    fn a_run_tests_every_channel_a_unit_can_be_reached_on_and_the_newest_outcome_counts() {
        let mut core = core();
        let ask = ChannelTestRequest { key: "k".into(), unit: None, by: "值班员".into() };
        core.on_feed(event(7, 0, Body::ChannelTestRequested(ask)));
        let keys: Vec<String> = core.test_messages(7).into_iter().map(|m| m.key).collect();
        assert_eq!(keys, ["T7/police/order", "T7/police/sms", "T7/police/radio", "T7/justice/order"]);
        let result = |ok| ChannelTestResult {
            run: "T7".into(),
            unit: "police".into(),
            channel: ChannelKind::Sms,
            ok,
            detail: if ok { "m1".into() } else { "SMSC down".into() },
        };
        core.on_feed(event(8, 1, Body::ChannelTested(result(false))));
        assert!(!core.channel_health.of("police", ChannelKind::Sms).unwrap().ok);
        core.on_feed(event(9, 3, Body::ChannelTested(result(true))));
        assert_eq!(core.channel_health.of("police", ChannelKind::Sms).unwrap().at, at(3), "green again");
        assert!(core.channel_health.of("police", ChannelKind::Radio).is_none(), "grey: never heard of");
        assert_eq!(run_of("T7"), Some(7));
        assert_eq!(run_of("D000007"), None);
    }

    #[test]
    fn a_scheduled_run_is_due_a_period_after_the_last_or_after_the_log_began() {
        let mut core = core();
        assert!(core.channel_tests_due(at(0), Duration::days(7)).is_none(), "an empty log: nothing to count from");
        core.on_feed(event(1, 0, Body::Heartbeat));
        assert!(core.channel_tests_due(at(60 * 24 * 7 - 1), Duration::days(7)).is_none());
        let due = core.channel_tests_due(at(60 * 24 * 7), Duration::days(7)).unwrap();
        assert_eq!((due.key.as_str(), due.unit.as_deref()), ("schedule/2026-12-05", None));
        core.on_feed(event(2, 60 * 24 * 7, Body::ChannelTestRequested(due)));
        assert!(core.channel_tests_due(at(60 * 24 * 8), Duration::days(7)).is_none());
        assert!(core.channel_tests_due(at(60 * 24 * 8), Duration::zero()).is_none(), "0: no schedule");
    }
}
