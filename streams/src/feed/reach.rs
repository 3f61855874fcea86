//! How far the log's places reach each other over the leaf links. A gateway of the whole county
//! asks each township on its own node for its log (its stream's info, through the township's
//! JetStream domain) every [`EVERY`], all townships at once; a gateway on a township's own node
//! asks the county's gateways whether they read its log now ([`answer_townships`]: a county
//! gateway answers only while it finds the township's log). What each finds goes to its seats
//! beside the log ([`super::beside`]) whenever it changes. A place is taken as cut only once
//! nothing answered for it for [`NOBODY`], as a county's command for a township is refused
//! then: a county node dying moves the leaf link within a second or two, and that is no cut.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::context::{GetStreamErrorKind, RequestError, RequestErrorKind};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use linkage_protocol::{CountyLink, Reach, TownshipLink};
use tokio::sync::watch;
use tokio::time::Instant;

use super::jetstream::{self, ANSWER, JetStreamLog, NOBODY};

/// How often every place is asked.
const EVERY: Duration = Duration::from_secs(2);

/// The subject the county's gateways answer `township` on (`*`: every township), for the
/// townships on their own nodes to know the county reads them. Outside the streams' subjects
/// (`lk.…`, `lt.…`): a stream would keep every ask.
fn here(county: &str, township: &str) -> String {
    format!("linkage.here.{county}.{township}")
}

/// How a gateway of the whole county last found each township on its own node: what it answers
/// a township that asks. Shared by the watch and the answers.
#[derive(Clone, Default)]
pub(super) struct Found(Arc<Mutex<HashMap<String, Reach>>>);

impl Found {
    fn set(&self, township: &str, reach: Reach) {
        if let Ok(mut found) = self.0.lock() {
            found.insert(township.to_owned(), reach);
        }
    }

    fn linked(&self, township: &str) -> bool {
        self.0.lock().is_ok_and(|found| found.get(township) == Some(&Reach::Linked))
    }
}

/// What is known of one place: how it was last found, since when, and when it last answered.
struct Known {
    found: Option<(Reach, DateTime<Utc>)>,
    answered: Instant,
}

impl Known {
    fn new(now: Instant) -> Known {
        Known { found: None, answered: now }
    }

    /// Takes one asking's outcome (`None`: nothing answered) at `now` (`wall` by the clock):
    /// how the place can be reached, when that changed.
    fn asked(&mut self, answer: Option<Reach>, now: Instant, wall: DateTime<Utc>) -> Option<(Reach, DateTime<Utc>)> {
        let reach = match answer {
            Some(reach) => {
                self.answered = now;
                reach
            }
            None if now.duration_since(self.answered) >= NOBODY => Reach::Cut,
            None => return None,
        };
        if self.found.is_some_and(|(was, _)| was == reach) {
            return None;
        }
        self.found = Some((reach, wall));
        self.found
    }
}

/// Asks every township of the log's county on its own node, every [`EVERY`], until `stopped`;
/// keeps what it finds in `found` and tells `tell` each change (and each township's first
/// finding).
pub(super) async fn watch_townships(
    log: JetStreamLog,
    found: Found,
    tell: impl Fn(TownshipLink),
    stopped: watch::Receiver<bool>,
) {
    let county = log.county().clone();
    let client = log.context().client();
    let asking = |township: &String| ask_township(client.clone(), county.county.clone(), township.clone());
    let told = |township: &String, reach, since| {
        found.set(township, reach);
        match reach {
            Reach::Linked => tracing::info!(township, "a township on its own node is reached"),
            Reach::Cut => tracing::warn!(township, "nothing answers for a township on its own node: cut off"),
            Reach::NoLog => tracing::warn!(township, "a township's node answers without the township's stream"),
        }
        tell(TownshipLink { township: township.clone(), reach, since });
    };
    watch(&client, &county.leaves, asking, told, stopped).await;
}

/// On a township's own node: asks the county's gateways whether they read this township's log,
/// every [`EVERY`], until `stopped`; tells `tell` each change.
pub(super) async fn watch_county(log: JetStreamLog, tell: impl Fn(CountyLink), stopped: watch::Receiver<bool>) {
    let client = log.context().client();
    let county = log.county();
    let subject = here(&county.county, &jetstream::token(county.township.as_deref().unwrap_or_default()));
    let asking = |_: &()| async {
        let asked = tokio::time::timeout(ANSWER, client.request(subject.clone(), "".into())).await;
        asked.ok()?.ok().map(|_| Reach::Linked)
    };
    let told = |_: &(), reach, since| {
        match reach {
            Reach::Linked => tracing::info!("the county's gateways read this township's log"),
            _ => tracing::warn!("no county gateway answers that it reads this township's log: cut off from the county"),
        }
        tell(CountyLink { reach, since });
    };
    watch(&client, &[()], asking, told, stopped).await;
}

/// On a gateway of the whole county: answers each township that asks whether the county reads
/// its log — only while `found` says this gateway does (silence says it does not) — until
/// `stopped`.
pub(super) async fn answer_townships(log: JetStreamLog, found: Found, mut stopped: watch::Receiver<bool>) {
    let client = log.context().client();
    let mut asks = match client.subscribe(here(&log.county().county, "*")).await {
        Ok(asks) => asks,
        Err(e) => return tracing::error!(error = %e, "cannot answer the townships on their own nodes"),
    };
    loop {
        let ask = tokio::select! {
            _ = stopped.changed() => return,
            ask = asks.next() => ask,
        };
        let Some(ask) = ask else {
            return tracing::error!("the townships' asks ended: they will take the county as cut off");
        };
        let township = ask.subject.split('.').next_back().and_then(jetstream::untoken);
        let (Some(reply), Some(township)) = (ask.reply, township) else { continue };
        if found.linked(&township)
            && let Err(e) = client.publish(reply, "".into()).await
        {
            tracing::warn!(township, error = %e, "a township's ask was not answered");
        }
    }
}

/// Asks each of `places` with `ask` every [`EVERY`], all at once, until `stopped`, and tells
/// `tell` how each is reached whenever that changes (and first). Nothing is asked while this
/// gateway is cut off from its own node: it could tell nothing of the others (what its seats
/// were told last stands), and once it is back each place has [`NOBODY`] again to answer.
async fn watch<P, A>(
    client: &async_nats::Client,
    places: &[P],
    ask: impl Fn(&P) -> A,
    tell: impl Fn(&P, Reach, DateTime<Utc>),
    mut stopped: watch::Receiver<bool>,
) where
    A: std::future::Future<Output = Option<Reach>>,
{
    let start = Instant::now();
    let mut known: Vec<Known> = places.iter().map(|_| Known::new(start)).collect();
    let mut away = false;
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = every.tick() => {}
        }
        if client.connection_state() != async_nats::connection::State::Connected {
            away = true;
            continue;
        }
        if std::mem::take(&mut away) {
            let now = Instant::now();
            known.iter_mut().for_each(|k| k.answered = now);
        }
        let answers = futures_util::future::join_all(places.iter().map(&ask)).await;
        let (now, wall) = (Instant::now(), Utc::now());
        for ((place, known), answer) in places.iter().zip(&mut known).zip(answers) {
            if let Some((reach, since)) = known.asked(answer, now, wall) {
                tell(place, reach, since);
            }
        }
    }
}

/// Asks `township`'s node for its log: `None` if nothing answered within [`ANSWER`] (nobody
/// there to answer, or no answer in time); a request that failed otherwise (on this gateway's
/// side) says nothing of the township and counts as no answer too, but is logged.
async fn ask_township(client: async_nats::Client, county: String, township: String) -> Option<Reach> {
    let mut js = async_nats::jetstream::with_domain(client, jetstream::domain(&township));
    js.set_timeout(ANSWER);
    let e = match js.get_stream(jetstream::own_stream(&county, &township)).await {
        Ok(_) => return Some(Reach::Linked),
        Err(e) => e,
    };
    if e.kind() != GetStreamErrorKind::Request {
        tracing::debug!(township, error = %e, "a township's node answered without its stream");
        return Some(Reach::NoLog);
    }
    let silent = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<RequestError>())
        .is_some_and(|r| matches!(r.kind(), RequestErrorKind::NoResponders | RequestErrorKind::TimedOut));
    if !silent {
        tracing::debug!(township, error = %e, "asking for a township's stream failed");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_township_is_cut_only_once_nothing_answered_for_a_while_and_each_change_is_told_once() {
        let start = Instant::now();
        let wall = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut t1 = Known::new(start);
        // Nothing has answered yet: not told until the wait is over.
        assert_eq!(t1.asked(None, at(2), wall(2)), None);
        assert_eq!(t1.asked(None, at(3), wall(3)), Some((Reach::Cut, wall(3))));
        assert_eq!(t1.asked(None, at(5), wall(5)), None, "told once");
        assert_eq!(t1.asked(Some(Reach::NoLog), at(7), wall(7)), Some((Reach::NoLog, wall(7))));
        assert_eq!(t1.asked(Some(Reach::Linked), at(9), wall(9)), Some((Reach::Linked, wall(9))));
        assert_eq!(t1.asked(Some(Reach::Linked), at(11), wall(11)), None);
        // One lost answer is no cut; three seconds of silence after the last answer are.
        assert_eq!(t1.asked(None, at(13), wall(13)), None);
        assert_eq!(t1.asked(Some(Reach::Linked), at(15), wall(15)), None);
        assert_eq!(t1.asked(None, at(17), wall(17)), None);
        assert_eq!(t1.asked(None, at(18), wall(18)), Some((Reach::Cut, wall(18))));
    }
}
