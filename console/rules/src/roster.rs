//! Duty rosters and A/B posts (值班表 · AB岗制): who at a linked unit gets an order at this hour.
//!
//! Each unit may name the people who hold its **A post** and its **B post**, each with their
//! hours (Beijing time) and their mobiles and radio. An order goes to the A post on duty at the
//! time of the dispatch; if the A post has not signed for within a fraction of the unit's
//! acknowledge clock ([`HAND_OVER_AT`] by default, `[dispatch] hand_over_at`), the order goes to
//! the B post on duty on every channel it went out on (see `Core::escalations_due`), the trail
//! says so, and the score counts it as an escalation. A unit with no roster is reached at its
//! own contacts, as before.
//!
//! Hours are a value, the time is passed in: who is on duty is tested without a clock.

use chrono::{DateTime, NaiveTime, Utc};

use super::ZONE;
use super::unit::{LinkedUnit, Tier};

/// The share of the acknowledge clock after which an order not signed for goes to the B post.
pub const HAND_OVER_AT: f64 = 0.5;

/// What an escalation to the B post is called in the log (`order_escalated`'s `what`), and the
/// last part of its messages' keys.
pub const HAND_OVER: &str = "post_b";

/// Hours of a watch, Beijing time: from `from` to `to`; a watch that ends before it starts runs
/// over midnight, and `from == to` is round the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl Hours {
    pub const ROUND_THE_CLOCK: Hours = Hours { from: NaiveTime::MIN, to: NaiveTime::MIN };

    /// Office hours, 08:30–17:30: a tier-2 or tier-3 unit's post unless its roster says more.
    pub fn office() -> Hours {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        Hours { from: t(8, 30), to: t(17, 30) }
    }

    /// A post's hours when the roster gives none: round the clock for tier 1, office hours else.
    pub fn default_for(tier: Tier) -> Hours {
        if tier == Tier::One { Hours::ROUND_THE_CLOCK } else { Hours::office() }
    }

    /// Reads `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<Hours, String> {
        let bad = || format!("hours {text:?}: write them HH:MM-HH:MM (Beijing time)");
        let (from, to) = text.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        Ok(Hours { from: time(from)?, to: time(to)? })
    }

    /// Whether `at` falls in these hours.
    pub fn contain(&self, at: DateTime<Utc>) -> bool {
        let t = at.with_timezone(&ZONE).time();
        match self.from.cmp(&self.to) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => self.from <= t && t < self.to,
            std::cmp::Ordering::Greater => t >= self.from || t < self.to,
        }
    }
}

pub use linkage_protocol::{PostKind, RosterPost};

/// One person holding a post of a unit for some hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub kind: PostKind,
    pub name: String,
    pub mobiles: Vec<String>,
    /// Their radio gateway (talk-group); the unit's when absent.
    pub radio: Option<crate::radio_target::RadioTarget>,
    pub hours: Hours,
}

impl Post {
    /// A post as the wire (or a config file) gives it, checked, for a unit of `tier`.
    pub fn from_wire(p: &RosterPost, tier: Tier) -> Result<Post, String> {
        p.check()?;
        let hours = match &p.hours {
            Some(h) => Hours::parse(h)?,
            None => Hours::default_for(tier),
        };
        let radio = p.radio.as_deref().map(str::parse).transpose().map_err(|e| format!("{}: radio: {e}", p.name))?;
        Ok(Post { kind: p.post, name: p.name.clone(), mobiles: p.mobiles.clone(), radio, hours })
    }

    /// The post as the wire carries it (hours always written out).
    pub fn to_wire(&self) -> RosterPost {
        RosterPost {
            post: self.kind,
            name: self.name.clone(),
            mobiles: self.mobiles.clone(),
            radio: self.radio.as_ref().map(|r| r.to_string()),
            hours: Some(format!("{}-{}", self.hours.from.format("%H:%M"), self.hours.to.format("%H:%M"))),
        }
    }
}

impl crate::Core {
    /// A roster from the log: the unit's posts from now on (a post that no longer reads is left
    /// out, with a warning; the hub checked them all at the edge).
    pub(crate) fn set_roster(&mut self, change: &linkage_protocol::RosterChange, at: chrono::DateTime<Utc>) {
        let Some(unit) = self.units.iter_mut().find(|u| u.id == change.unit) else {
            tracing::info!(unit = %change.unit, "a roster for a unit this center does not have");
            return;
        };
        let tier = unit.tier;
        unit.posts = change
            .posts
            .iter()
            .filter_map(|p| {
                Post::from_wire(p, tier).inspect_err(|e| tracing::warn!(unit = %change.unit, error = %e)).ok()
            })
            .collect();
        self.rosters_set.insert(change.unit.clone(), (change.by.clone(), at));
    }
}

impl LinkedUnit {
    /// Who holds `kind` at `at`: the first such post of the roster whose hours contain it.
    pub fn on_duty(&self, kind: PostKind, at: DateTime<Utc>) -> Option<&Post> {
        self.posts.iter().find(|p| p.kind == kind && p.hours.contain(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkage_protocol::order::fixtures::at;

    /// 2026-11-28 at `h`:`m` Beijing time.
    fn beijing(h: i64, m: i64) -> DateTime<Utc> {
        at((h - 16) * 60 + m) // the fixtures' 08:00 UTC is 16:00 in Beijing
    }

    fn post(kind: PostKind, name: &str, hours: &str) -> Post {
        Post {
            kind,
            name: name.into(),
            mobiles: vec!["13800000099".into()],
            radio: None,
            hours: Hours::parse(hours).unwrap(),
        }
    }

    fn police(posts: Vec<Post>) -> LinkedUnit {
        LinkedUnit {
            id: "police".into(),
            name: "青溪派出所".into(),
            tier: Tier::One,
            roles: vec![],
            area: vec![],
            contact: String::new(),
            sms: vec![],
            radio: None,
            base: None,
            posts,
        }
    }

    #[test]
    fn the_post_on_duty_is_the_one_whose_hours_hold_the_time_including_a_night_watch() {
        let unit = police(vec![
            post(PostKind::A, "白班 张", "08:30-17:30"),
            post(PostKind::A, "夜班 李", "17:30-08:30"),
            post(PostKind::B, "所长 王", "00:00-00:00"),
        ]);
        assert_eq!(unit.on_duty(PostKind::A, beijing(9, 0)).unwrap().name, "白班 张");
        assert_eq!(unit.on_duty(PostKind::A, beijing(17, 30)).unwrap().name, "夜班 李");
        assert_eq!(unit.on_duty(PostKind::A, beijing(23, 59)).unwrap().name, "夜班 李");
        assert_eq!(unit.on_duty(PostKind::B, beijing(3, 0)).unwrap().name, "所长 王", "round the clock");
        let office = police(vec![post(PostKind::A, "张", "08:30-17:30")]);
        assert!(office.on_duty(PostKind::A, beijing(20, 0)).is_none());
    }

    /// A tier-1 police station whose roster has an A and a B post round the clock.
    fn core_with_posts() -> crate::Core {
        let mut unit =
            police(vec![post(PostKind::A, "值班民警 张", "00:00-00:00"), post(PostKind::B, "所长 王", "00:00-00:00")]);
        unit.posts[1].mobiles = vec!["13800000002".into()];
        unit.sms = vec!["13800000000".into()];
        crate::Core { units: vec![unit], ..crate::Core::default() }
    }

    fn dispatch(core: &crate::Core) -> crate::order::Order {
        use crate::order::ChannelKind;
        let draft = crate::dispatch::DispatchDraft {
            incident: "E1".into(),
            plan: None,
            units: vec![("police".into(), vec![ChannelKind::Order, ChannelKind::Sms])],
            texts: crate::plan::Texts {
                order: "请{unit}处置".into(),
                sms: "请{unit}处置".into(),
                ..Default::default()
            },
            clocks: Default::default(),
        };
        core.build_order("D000001".into(), at(0), &draft).unwrap()
    }

    fn sms_to(core: &crate::Core, order: &crate::order::Order) -> Vec<(Vec<String>, String)> {
        use crate::dispatch::Address;
        core.messages_of(order)
            .into_iter()
            .filter_map(|m| match m.address {
                Address::Mobiles(to) => Some((to, m.text)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_order_goes_to_the_a_post_and_to_the_b_post_once_half_its_acknowledge_clock_passed_unsigned() {
        use linkage_protocol::Step;
        let core = core_with_posts();
        let mut order = dispatch(&core);
        assert_eq!(
            sms_to(&core, &order),
            [(vec!["13800000099".to_owned()], "请青溪派出所处置".to_owned())],
            "the A post's mobile"
        );
        // Acknowledge by 5 minutes: the B post is due at 2½.
        assert!(core.escalations_due(at(2)).is_empty());
        let mut core = core;
        core.orders.list.insert(order.id.clone(), order.clone());
        let due = core.escalations_due(at(3));
        let [handed] = due.as_slice() else { panic!("{due:?}") };
        assert_eq!((handed.what.as_str(), handed.to.as_deref(), handed.clock), (HAND_OVER, Some("所长 王"), None));
        let keys: Vec<&str> = handed.deliveries.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["D000001/police/order/post_b", "D000001/police/sms/post_b"], "every channel it went out on");
        order.apply_escalation(handed);
        let sms = sms_to(&core, &order);
        assert_eq!(sms[1], (vec!["13800000002".to_owned()], "【B岗】请青溪派出所处置".to_owned()));
        core.orders.list.insert(order.id.clone(), order.clone());
        assert!(core.escalations_due(at(4)).is_empty(), "once");
        // Counted by the score as an escalation.
        assert!(order.units[0].escalated.iter().any(|e| e == HAND_OVER));

        // Signed for in time: no hand-over.
        let mut core = core_with_posts();
        let mut order = dispatch(&core);
        order.record_step("police", Step::Acknowledged, at(1), None);
        core.orders.list.insert(order.id.clone(), order);
        assert!(core.escalations_due(at(3)).is_empty());
        // A share of the clock set by the config.
        let mut core = core_with_posts();
        core.hand_over_at = Some(0.8);
        core.orders.list.insert("D000001".into(), dispatch(&core));
        assert!(core.escalations_due(at(3)).is_empty(), "0.8 × 5 min = 4 min");
        assert_eq!(core.escalations_due(at(4)).len(), 1);
    }

    #[test]
    fn a_roster_from_the_log_takes_over_from_the_config_and_orders_go_to_its_a_post() {
        use linkage_protocol::{Body, Envelope, FeedUpdate, RosterChange};
        let mut core = core_with_posts();
        let change = RosterChange {
            key: "k1".into(),
            unit: "police".into(),
            posts: vec![RosterPost {
                post: PostKind::A,
                name: "值班民警 李".into(),
                mobiles: vec!["13900000031".into()],
                radio: None,
                hours: None,
            }],
            by: "管理员 周".into(),
        };
        core.on_feed(FeedUpdate::Event(Envelope { time: at(-1), ..Envelope::new(1, Body::RosterSet(change)) }));
        let posts = &core.units[0].posts;
        assert_eq!((posts.len(), posts[0].name.as_str(), posts[0].hours), (1, "值班民警 李", Hours::ROUND_THE_CLOCK));
        assert_eq!(core.rosters_set["police"], ("管理员 周".to_owned(), at(-1)));
        let order = dispatch(&core);
        assert_eq!(sms_to(&core, &order)[0].0, ["13900000031"]);
        // No B post any more: nobody to hand over to.
        core.orders.list.insert(order.id.clone(), order);
        assert!(core.escalations_due(at(3)).is_empty());
    }

    #[test]
    fn a_unit_without_a_b_post_on_duty_is_not_handed_over() {
        let mut core = core_with_posts();
        core.units[0].posts[1].hours = Hours::parse("08:30-09:00").unwrap();
        core.orders.list.insert("D000001".into(), dispatch(&core));
        assert!(core.escalations_due(at(3)).is_empty());
    }

    #[test]
    fn hours_are_read_as_written_or_refused_with_the_form_they_need() {
        assert_eq!(Hours::parse("00:00-00:00").unwrap(), Hours::ROUND_THE_CLOCK);
        assert!(Hours::parse("8:30").unwrap_err().contains("HH:MM-HH:MM"));
        assert!(Hours::parse("25:00-08:00").is_err());
        assert_eq!(Hours::default_for(Tier::Two), Hours::office());
    }
}
