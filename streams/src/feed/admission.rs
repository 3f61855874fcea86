//! What a client may send, and what the log makes of it.
//!
//! Every message a client sends is checked here against its [`Grant`] — the role and the name
//! the hub gave it at hello, never a field the client writes — and becomes one [`Pending`]
//! event: its body as logged, signed with the sender's name where a person acted, and its dedup
//! key. Dedup keys that a sender chooses (`report_id`, `key`) are scoped by the sender's name,
//! so one client can never swallow another's message by reusing its key.

use linkage_protocol::{Body, DeliveryState, ErrorCode, Incident, IncidentStatus, Role, SeatRole, UnitPosition};

use super::event_log::Pending;
use super::grant::Grant;
use super::routes::route_of;

/// The hub's answer to one message.
pub(super) enum Admission {
    /// Log it (once per dedup key).
    Log(Box<Pending>),
    /// Nothing to log (a heartbeat).
    Ignore,
    /// A unit's position: kept as its newest and passed on live, not logged.
    Move(UnitPosition),
    /// Refuse it with a code and a reason; the connection stays.
    Refuse(ErrorCode, String),
}

/// An event logged once per `dedup`, addressed to every reader (or a unit's terminals).
fn logged(dedup: String, route: Option<String>, body: Body) -> Admission {
    logged_once(Some(dedup), route, body)
}

/// An event logged (once per `dedup`, when it has one) with its route: the unit it is
/// addressed to, or every unit for the meetings ([`route_of`]).
fn logged_once(dedup: Option<String>, addressed: Option<String>, body: Body) -> Admission {
    let route = route_of(body.kind(), addressed);
    Admission::Log(Box::new(Pending { dedup, route, body, township: None }))
}

/// What `grant`'s message `body` becomes.
pub(super) fn admit(grant: &Grant, body: Body) -> Admission {
    let role = grant.role;
    let me = &grant.name;
    // A seat's person may do what their role at the center allows.
    let dispatcher = role == Role::Console && grant.seat_role().may_dispatch();
    match body {
        Body::Report(_) | Body::Dispatch(_) | Body::ChangeOrder(_) | Body::HandOver(_)
            if role == Role::Console && !dispatcher =>
        {
            let reason =
                format!("a {} may not send {}: that is for a duty officer", grant.seat_role().code(), body.kind());
            Admission::Refuse(ErrorCode::Unauthorized, reason)
        }
        Body::TestChannels(_) if role == Role::Console && !dispatcher => {
            let reason = format!("a {} may not test channels: that is for a duty officer", grant.seat_role().code());
            Admission::Refuse(ErrorCode::Unauthorized, reason)
        }
        Body::TestChannels(mut request) if matches!(role, Role::Console | Role::Center) => {
            request.by = me.clone();
            logged(format!("test/{me}/{}", request.key), None, Body::ChannelTestRequested(request))
        }
        Body::ChannelTested(result) if role == Role::Center => {
            let dedup = format!("tested/{}/{}/{}/{}", result.run, result.unit, result.channel.code(), result.ok);
            logged(dedup, None, Body::ChannelTested(result))
        }
        Body::SetRoster(_) if role == Role::Console && grant.seat_role() != SeatRole::Admin => {
            let reason = format!("a {} may not set rosters: that is for an admin", grant.seat_role().code());
            Admission::Refuse(ErrorCode::Unauthorized, reason)
        }
        Body::SetRoster(mut change) if role == Role::Console => {
            change.by = me.clone();
            logged(format!("roster/{me}/{}", change.key), None, Body::RosterSet(change))
        }
        Body::UpdateIncident(ref u) if role == Role::Console && !dispatcher && u.status.is_some() => {
            let reason = format!("a {} may write notes but not set an incident's status", grant.seat_role().code());
            Admission::Refuse(ErrorCode::Unauthorized, reason)
        }
        Body::Report(report) if role.may_report() => {
            let dedup = Some(format!("report/{me}/{}", report.report_id));
            // Its id is the log's to give (`Body::numbered`).
            let incident =
                Incident { id: String::new(), reported_at: chrono::Utc::now(), status: IncidentStatus::New, report };
            logged_once(dedup, None, Body::IncidentReported(incident))
        }
        // The first seat to acknowledge an alarm is the one recorded.
        Body::Acknowledge { incident } if role == Role::Console => {
            logged(format!("ack/{incident}"), None, Body::AlarmAcknowledged { incident, by: me.clone() })
        }
        Body::HandOver(mut handover) if role == Role::Console => {
            handover.by = me.clone();
            logged(format!("handover/{me}/{}", handover.key), None, Body::HandedOver(handover))
        }
        Body::PeersDocked { peers } if role == Role::Bridge => logged_once(None, None, Body::PeersDocked { peers }),
        Body::HandoverProgressed(p) if role == Role::Bridge => {
            logged(format!("handover/{}/{}", p.handover, p.state.code()), None, Body::HandoverProgressed(p))
        }
        // A bridge writes what its peer adds to an incident it pushed (a later revision) as a
        // note; only a duty officer sets an incident's status.
        Body::UpdateIncident(ref u) if role == Role::Bridge && u.status.is_some() => Admission::Refuse(
            ErrorCode::Unauthorized,
            "a bridge may write notes but not set an incident's status".into(),
        ),
        Body::UpdateIncident(mut update) if matches!(role, Role::Console | Role::Bridge) => {
            update.by = me.clone();
            logged(format!("update/{me}/{}", update.key), None, Body::IncidentUpdated(update))
        }
        // Any seat's person may turn a camera or keep a clip: the log says who.
        Body::UseCamera(mut used) if role == Role::Console => {
            used.by = me.clone();
            logged(format!("camera/{me}/{}", used.key), None, Body::CameraUsed(used))
        }
        // A leader or a duty officer chairs a meeting; a unit's seat (or terminal) raises or
        // lowers its own hand and unmutes itself.
        Body::ChairMeeting(mut command) if matches!(role, Role::Console | Role::UnitTerminal) => {
            let chair = grant.may_chair();
            let own = command.action.own_site().is_some_and(|site| grant.unit.as_deref() == Some(site));
            if !chair && !own {
                let reason = format!(
                    "a {} may not {} in a meeting: that is for its chair (a leader or a duty officer)",
                    grant.seat_role().code(),
                    command.action.code()
                );
                return Admission::Refuse(ErrorCode::Unauthorized, reason);
            }
            command.by = me.clone();
            // An opened meeting's name is the log's to give (`Body::numbered`).
            logged(format!("meeting/{me}/{}", command.key), None, Body::MeetingChaired(command))
        }
        Body::MeetingEnforced(enforced) if role == Role::Center => {
            logged(format!("enforced/{}/{}", enforced.meeting, enforced.command), None, Body::MeetingEnforced(enforced))
        }
        Body::MeetingPresence(presence) if role == Role::Center => {
            logged_once(None, None, Body::MeetingPresence(presence))
        }
        Body::Dispatch(mut request) if role == Role::Console => {
            request.by = me.clone();
            logged(format!("dispatch/{me}/{}", request.key), None, Body::DispatchRequested(request))
        }
        Body::ChangeOrder(mut change) if matches!(role, Role::Console | Role::Center) => {
            change.by = me.clone();
            logged(format!("change/{me}/{}", change.key), None, Body::OrderChanged(change))
        }
        Body::IssueOrder(order) if matches!(role, Role::Dispatcher | Role::Center) => {
            let route = Some(order.unit.clone());
            logged(format!("order/{}", order.key), route, Body::OrderIssued(order))
        }
        Body::Progress(progress)
            if role == Role::UnitTerminal && grant.unit.as_deref() == Some(progress.unit.as_str()) =>
        {
            // Routed to the unit too: its seats see their own steps, also in a replay.
            let dedup = progress.command_key();
            let route = Some(progress.unit.clone());
            logged(dedup, route, Body::OrderProgressed(progress))
        }
        Body::OrderCreated(order) if role == Role::Center => {
            logged(format!("created/{}", order.id), None, Body::OrderCreated(order))
        }
        Body::DeliveryUpdated(update) if role == Role::Center => {
            // A failure is logged once per attempt, a receipt once.
            let state = match &update.state {
                DeliveryState::Failed { attempts, .. } => format!("failed/{attempts}"),
                other => other.code().to_owned(),
            };
            logged(format!("delivery/{}/{state}", update.key), None, Body::DeliveryUpdated(update))
        }
        Body::OrderEscalated(e) if role == Role::Center => {
            logged(format!("escalated/{}/{}/{}", e.order, e.unit, e.what), None, Body::OrderEscalated(e))
        }
        Body::AlarmPaged(page) if role == Role::Center => {
            logged(format!("paged/{}/{:?}", page.incident, page.level), None, Body::AlarmPaged(page))
        }
        Body::PageAnswered { incident, by } if role == Role::Center => {
            logged(format!("ack/{incident}"), None, Body::AlarmAcknowledged { incident, by })
        }
        Body::SatisfactionAsked(ask) if role == Role::Center => {
            logged(format!("asked/{}", ask.order), None, Body::SatisfactionAsked(ask))
        }
        Body::Position(position)
            if role == Role::UnitTerminal && grant.unit.as_deref() == Some(position.unit.as_str()) =>
        {
            Admission::Move(position)
        }
        Body::Heartbeat => Admission::Ignore,
        body @ (Body::Report(_)
        | Body::Acknowledge { .. }
        | Body::UpdateIncident(_)
        | Body::Dispatch(_)
        | Body::ChangeOrder(_)
        | Body::IssueOrder(_)
        | Body::Progress(_)
        | Body::Position(_)
        | Body::SetRoster(_)
        | Body::TestChannels(_)
        | Body::ChannelTested(_)
        | Body::OrderCreated(_)
        | Body::DeliveryUpdated(_)
        | Body::OrderEscalated(_)
        | Body::SatisfactionAsked(_)
        | Body::AlarmPaged(_)
        | Body::PageAnswered { .. }
        | Body::HandOver(_)
        | Body::UseCamera(_)
        | Body::ChairMeeting(_)
        | Body::MeetingEnforced(_)
        | Body::MeetingPresence(_)
        | Body::HandoverProgressed(_)
        | Body::PeersDocked { .. }) => {
            Admission::Refuse(ErrorCode::Unauthorized, format!("role {role:?} may not send {}", body.kind()))
        }
        other => Admission::Refuse(ErrorCode::Protocol, format!("a client may not send {}", other.kind())),
    }
}
