//! Nobody misses a tier-1 event, even with no one at a seat: an alarm that no seat
//! acknowledges within [`Paging::on_call_after`] pages the on-call officer on duty at that hour
//! by SMS and a radio call, and after [`Paging::leader_after`] the leader too. The page's SMS
//! asks for an answer; any answer from a paged mobile acknowledges the alarm for every seat.
//!
//! As everywhere in the rules, time is a value: [`Core::pages_due`] says what is due at `now`
//! from the log (the alarm's time, the pages already logged); the center's dispatch service
//! logs each page (`alarm_paged`) and its outbox sends it.

use chrono::{DateTime, Duration, Utc};
use linkage_protocol::{Page, PageLevel};

use super::dispatch::{Address, Outgoing};
use super::order::ChannelKind;
use super::roster::Hours;
use super::{Core, ZONE};

/// One on-call officer of the roster and the hours (Beijing time) they hold the watch.
#[derive(Debug, Clone, PartialEq)]
pub struct OnCall {
    pub name: String,
    pub mobiles: Vec<String>,
    pub radio: Option<crate::radio_target::RadioTarget>,
    pub hours: Hours,
}

/// When unanswered alarms page whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Paging {
    pub on_call_after: Duration,
    pub leader_after: Duration,
    pub roster: Vec<OnCall>,
}

impl Default for Paging {
    fn default() -> Paging {
        Paging { on_call_after: Duration::minutes(2), leader_after: Duration::minutes(5), roster: vec![] }
    }
}

impl Core {
    /// The pages due at `now`: for every alarm still ringing, the on-call officer on duty once
    /// it has rung [`Paging::on_call_after`], the leader once [`Paging::leader_after`] — each
    /// once (the log keeps what was paged).
    pub fn pages_due(&self, now: DateTime<Utc>) -> Vec<Page> {
        let mut due = vec![];
        for incident in &self.alarms {
            let Some(t) = self.incidents.get(incident) else { continue };
            let ringing = now - t.incident.reported_at;
            let paged = |level| self.pages.get(incident).is_some_and(|p| p.iter().any(|p| p.level == level));
            if ringing >= self.paging.on_call_after
                && !paged(PageLevel::OnCall)
                && let Some(officer) = self.paging.roster.iter().find(|o| o.hours.contain(now))
            {
                due.push(Page {
                    incident: incident.clone(),
                    level: PageLevel::OnCall,
                    to: officer.name.clone(),
                    mobiles: officer.mobiles.clone(),
                    radio: officer.radio.as_ref().map(|a| a.to_string()),
                });
            }
            if ringing >= self.paging.leader_after && !paged(PageLevel::Leader) && !self.leader_sms.is_empty() {
                due.push(Page {
                    incident: incident.clone(),
                    level: PageLevel::Leader,
                    to: "值班领导".into(),
                    mobiles: self.leader_sms.clone(),
                    radio: None,
                });
            }
        }
        due
    }

    /// The messages of a page: an SMS to the person's mobiles asking for an answer, and the
    /// alarm read out on their radio.
    pub fn page_messages(&self, page: &Page) -> Vec<Outgoing> {
        let Some(t) = self.incidents.get(&page.incident) else { return vec![] };
        let report = &t.incident.report;
        let kind = self.kinds.get(&report.kind).map_or(report.kind.as_str(), |k| k.zh.as_str());
        let since = t.incident.reported_at.with_timezone(&ZONE).format("%H:%M");
        let level = match page.level {
            PageLevel::OnCall => "on_call",
            PageLevel::Leader => "leader",
        };
        let message = |channel: ChannelKind, address: Address, text: String| Outgoing {
            key: format!("page/{}/{level}/{}", page.incident, channel.code()),
            order: format!("page/{}", page.incident),
            incident: page.incident.clone(),
            unit: page.to.clone(),
            channel,
            address,
            text,
            acknowledge_by: t.incident.reported_at,
            details: None,
        };
        let mut out = vec![message(
            ChannelKind::Sms,
            Address::Mobiles(page.mobiles.clone()),
            format!(
                "【{}】一级警情无人签收：{} {}（{}），{}起。回复任意内容即签收。",
                self.center, page.incident, kind, report.text, since
            ),
        )];
        if let Some(radio) = page.radio.as_deref().and_then(|r| r.parse().ok()) {
            let text = format!("{}呼叫{}，{}一级警情无人签收，请立即查看。", self.center, page.to, kind);
            out.push(message(ChannelKind::Radio, Address::Radio(radio), text));
        }
        out
    }

    /// An SMS from a paged mobile answers the page of an alarm still ringing: (incident, who).
    pub fn page_answer(&self, from: &str) -> Option<(String, String)> {
        self.alarms.iter().rev().find_map(|incident| {
            let page = self.pages.get(incident)?.iter().find(|p| p.mobiles.iter().any(|m| m == from))?;
            Some((incident.clone(), format!("{}（短信 {from}）", page.to)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{event, incident};
    use chrono::NaiveTime;
    use linkage_protocol::{Body, Envelope, FeedUpdate, Severity};

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        // Beijing time on 2026-11-28.
        chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .and_then(|t| t.and_local_timezone(ZONE).single())
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    fn officer(name: &str, from: u32, to: u32) -> OnCall {
        OnCall {
            name: name.into(),
            mobiles: vec![format!("1390000{from:04}")],
            radio: None,
            hours: Hours {
                from: NaiveTime::from_hms_opt(from, 0, 0).unwrap(),
                to: NaiveTime::from_hms_opt(to, 0, 0).unwrap(),
            },
        }
    }

    fn core_with_alarm_at(reported: DateTime<Utc>) -> Core {
        let mut core = Core {
            paging: Paging {
                roster: vec![officer("白班 王强", 8, 20), officer("夜班 陈静", 20, 8)],
                ..Paging::default()
            },
            leader_sms: vec!["13800000099".into()],
            ..Core::default()
        };
        let mut i = incident("E1", Severity::Critical, 0);
        i.reported_at = reported;
        core.on_feed(event(1, i));
        assert_eq!(core.alarms, ["E1"]);
        core
    }

    fn logged(core: &mut Core, seq: u64, body: Body) {
        core.on_feed(FeedUpdate::Event(Envelope::new(seq, body)));
    }

    #[test]
    fn an_unanswered_alarm_pages_the_night_officer_after_two_minutes_then_the_leader_each_once() {
        let t0 = at(23, 0);
        let mut core = core_with_alarm_at(t0);
        assert!(core.pages_due(t0 + Duration::seconds(119)).is_empty());
        let due = core.pages_due(t0 + Duration::minutes(2));
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].level, due[0].to.as_str()), (PageLevel::OnCall, "夜班 陈静"), "23:02 is the night watch");
        logged(&mut core, 2, Body::AlarmPaged(due[0].clone()));
        assert!(core.pages_due(t0 + Duration::minutes(3)).is_empty(), "paged once");
        let due = core.pages_due(t0 + Duration::minutes(5));
        assert_eq!(due.iter().map(|p| p.level).collect::<Vec<_>>(), [PageLevel::Leader]);
        logged(&mut core, 3, Body::AlarmPaged(due[0].clone()));
        assert!(core.pages_due(t0 + Duration::minutes(30)).is_empty());
        // The night officer answers the SMS: the alarm is acknowledged in their name.
        let (incident, by) = core.page_answer("13900000020").unwrap();
        assert_eq!((incident.as_str(), by.as_str()), ("E1", "夜班 陈静（短信 13900000020）"));
        assert_eq!(core.page_answer("13912345678"), None, "a stranger answers nothing");
        logged(&mut core, 4, Body::AlarmAcknowledged { incident, by });
        assert!(core.alarms.is_empty());
        assert_eq!(core.page_answer("13900000020"), None, "nothing left ringing");
    }

    #[test]
    fn an_alarm_acknowledged_at_a_seat_pages_nobody_and_the_day_watch_takes_the_day() {
        let t0 = at(9, 0);
        let mut core = core_with_alarm_at(t0);
        let due = core.pages_due(t0 + Duration::minutes(2));
        assert_eq!(due[0].to, "白班 王强");
        let messages = core.page_messages(&due[0]);
        assert_eq!(messages.len(), 1, "no radio for this officer: SMS only");
        assert!(messages[0].text.contains("回复任意内容即签收"), "{}", messages[0].text);
        logged(&mut core, 2, Body::AlarmAcknowledged { incident: "E1".into(), by: "值班员".into() });
        assert!(core.pages_due(t0 + Duration::minutes(10)).is_empty());
    }

    #[test]
    fn a_watch_over_midnight_and_one_round_the_clock() {
        assert!(officer("夜", 20, 8).hours.contain(at(2, 0)));
        assert!(!officer("夜", 20, 8).hours.contain(at(12, 0)));
        assert!(officer("全天", 0, 0).hours.contain(at(12, 0)));
    }
}
