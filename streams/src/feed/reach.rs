//! Whether the townships on their own nodes can be reached from the county. A gateway of the
//! whole county asks each such township's log (its stream's info, through the township's
//! JetStream domain over the leaf link) every [`EVERY`], all townships at once; what it finds
//! goes to the county's seats beside the log ([`super::beside`]) whenever it changes. A
//! township is taken as cut only once nothing answered for it for [`NOBODY`], as a command for
//! it is refused then: a county node dying moves the leaf link within a second or two, and that
//! is no cut.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::context::{GetStreamErrorKind, RequestError, RequestErrorKind};
use chrono::{DateTime, Utc};
use linkage_protocol::{Reach, TownshipLink};
use tokio::sync::watch;
use tokio::time::Instant;

use super::jetstream::{self, ANSWER, JetStreamLog, NOBODY};

/// How often every township is asked.
const EVERY: Duration = Duration::from_secs(2);

/// What is known of one township: how it was last found, since when, and when it last answered.
struct Township {
    found: Option<(Reach, DateTime<Utc>)>,
    answered: Instant,
}

impl Township {
    fn new(now: Instant) -> Township {
        Township { found: None, answered: now }
    }

    /// Takes one asking's outcome (`None`: nothing answered) at `now` (`wall` by the clock):
    /// how the township can be reached, when that changed.
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
/// tells `tell` each change (and each township's first finding).
pub(super) async fn watch(log: JetStreamLog, tell: impl Fn(TownshipLink), mut stopped: watch::Receiver<bool>) {
    let county = log.county().clone();
    let client = log.context().client();
    let start = Instant::now();
    let mut townships: HashMap<&str, Township> =
        county.leaves.iter().map(|t| (t.as_str(), Township::new(start))).collect();
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = every.tick() => {}
        }
        // Cut off from the county's own nodes, this gateway can tell nothing of the townships
        // (its seats are cut off from it in turn, or see its refusals).
        if client.connection_state() != async_nats::connection::State::Connected {
            continue;
        }
        let asked = county.leaves.iter().map(|township| ask(&client, &county.county, township));
        let answers = futures_util::future::join_all(asked).await;
        let (now, wall) = (Instant::now(), Utc::now());
        for (township, answer) in county.leaves.iter().zip(answers) {
            let Some(known) = townships.get_mut(township.as_str()) else { continue };
            if let Some((reach, since)) = known.asked(answer, now, wall) {
                match reach {
                    Reach::Linked => tracing::info!(township, "a township on its own node is reached"),
                    Reach::Cut => tracing::warn!(township, "nothing answers for a township on its own node: cut off"),
                    Reach::NoLog => tracing::warn!(township, "a township's node answers without the township's stream"),
                }
                tell(TownshipLink { township: township.clone(), reach, since });
            }
        }
    }
}

/// Asks `township`'s node for its log: `None` if nothing answered within [`ANSWER`] (nobody
/// there to answer, or no answer in time); a request that failed otherwise (on this gateway's
/// side) says nothing of the township and counts as no answer too, but is logged.
async fn ask(client: &async_nats::Client, county: &str, township: &str) -> Option<Reach> {
    let mut js = async_nats::jetstream::with_domain(client.clone(), jetstream::domain(township));
    js.set_timeout(ANSWER);
    let e = match js.get_stream(jetstream::own_stream(county, township)).await {
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
        tracing::warn!(township, error = %e, "asking for a township's stream failed");
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
        let mut t1 = Township::new(start);
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
