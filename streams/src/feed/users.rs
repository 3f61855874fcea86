//! The center's people: who may sit at a seat, as what, for which township — and the sessions
//! their logins opened.
//!
//! Kept in `DATA/users.sqlite` beside the log. A password is stored only as an argon2id hash
//! (a salt of 16 random bytes from the operating system's CSPRNG, the algorithm's default
//! cost); a login checks it and opens a session: a random token the seat then says hello with,
//! valid for [`SESSION_HOURS`] hours and across restarts of the hub, and ended at once when the
//! user is disabled. `linkage users add|passwd|disable|list` manages the table.
//!
//! Gateways side by side (a county's log) give their seats' sessions a secret they share
//! ([`Users::signing_sessions`]): a session is then not kept here but signed (HMAC-SHA-256 of
//! the user and its end), so that a seat whose gateway dies is let in by the next one without
//! logging in again. Each gateway still checks its own store: the user must be there, and not
//! disabled.

use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use linkage_protocol::SeatRole;
use rusqlite::{Connection, OptionalExtension, params};

use crate::sqlite::{Durability, open_wal};

/// How long a session lasts after its login.
pub const SESSION_HOURS: i64 = 12;

/// A person at the center, as a login finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The login name.
    pub user: String,
    /// The name that signs what they do (the trail shows it).
    pub display: String,
    pub seat: SeatRole,
    /// The township they work for, spelled as its gateways' `--township`; on a county's log
    /// they are kept to it. A person of the county itself has the county's name (`--county`).
    pub township: String,
    /// For a person of a linked unit (`SeatRole::Unit`): the unit they work for.
    pub unit: Option<String>,
}

/// Why a login was refused. The seat is told no more than the reason's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// No such user, or the password does not match: the same answer for both.
    #[error("wrong user name or password")]
    Wrong,
    #[error("the account {0} is disabled")]
    Disabled(String),
    #[error("the user store failed: {0}")]
    Store(String),
    /// The person works for a township this server does not serve (a county's gateway).
    #[error("{0}")]
    NotHere(String),
}

/// `n` random bytes from the operating system, as hex: tokens and session ids.
pub fn secret_hex(n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| format!("the system's random source failed: {e}"))?;
    Ok(crate::http::hex(&bytes))
}

fn hash(password: &str) -> Result<String, String> {
    if password.chars().count() < 8 {
        return Err("a password needs at least 8 characters".into());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("the system's random source failed: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub struct Users {
    db: Connection,
    /// The secret this store's gateways share to sign sessions; `None`: sessions are random
    /// tokens kept here.
    signing: Option<ring::hmac::Key>,
}

/// The shortest secret that signs sessions.
pub const SECRET_BYTES: usize = 32;

/// What a signed session's token starts with: `s1.<user as hex>.<end, Unix seconds>.<HMAC>`.
const SIGNED: &str = "s1.";

impl Users {
    /// Opens (creating if needed) `dir/users.sqlite`.
    pub fn open(dir: &Path) -> Result<Users, String> {
        let db = open_wal(
            dir,
            "users.sqlite",
            Durability::Full,
            "CREATE TABLE IF NOT EXISTS users (
                user TEXT PRIMARY KEY,
                display TEXT NOT NULL,
                seat TEXT NOT NULL,
                township TEXT NOT NULL,
                hash TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE IF NOT EXISTS sessions (
                token TEXT PRIMARY KEY,
                user TEXT NOT NULL,
                expires TEXT NOT NULL
            );",
        )?;
        // A user store from before units' people had logins lacks their unit; one from before
        // signed sessions, the time from which a user's sessions hold.
        for (column, kind) in [("unit", "TEXT"), ("sessions_from", "INTEGER")] {
            if db.prepare(&format!("SELECT {column} FROM users LIMIT 0")).is_err() {
                db.execute_batch(&format!("ALTER TABLE users ADD COLUMN {column} {kind};"))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(Users { db, signing: None })
    }

    /// Sessions opened from now on are signed with `secret` (at least 32 bytes, shared by the
    /// gateways that serve one set of seats), and sessions signed with it are taken, besides
    /// those kept here.
    pub fn signing_sessions(self, secret: &[u8]) -> Result<Users, String> {
        if secret.len() < SECRET_BYTES {
            return Err(format!("a session secret has at least 32 bytes, this one {}", secret.len()));
        }
        Ok(Users { signing: Some(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret)), ..self })
    }

    /// Adds a user; refused if the name is taken or the password is shorter than 8.
    pub fn add(&mut self, person: &Person, password: &str) -> Result<(), String> {
        if person.user.trim().is_empty() || person.user.len() > 64 {
            return Err("a user name has 1–64 characters".into());
        }
        if (person.seat == SeatRole::Unit) != person.unit.is_some() {
            return Err("a unit's person names their unit (--unit ID), and only they do".into());
        }
        if let Some(unit) = &person.unit {
            super::routes::check_unit_id(unit)?;
        }
        // One of the county itself may have the county's name.
        super::jetstream::check_township(&person.township, None)?;
        let hash = hash(password)?;
        self.db
            .execute(
                "INSERT INTO users (user, display, seat, township, hash, unit) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![person.user, person.display, person.seat.code(), person.township, hash, person.unit],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    format!("the user {} exists already", person.user)
                }
                e => e.to_string(),
            })?;
        Ok(())
    }

    /// Sets a new password; every open session of the user ends.
    pub fn set_password(&mut self, user: &str, password: &str) -> Result<(), String> {
        let hash = hash(password)?;
        self.change(user, "UPDATE users SET hash = ?2 WHERE user = ?1", &hash)
    }

    /// Moves a user to another township (on a county's log: the one they are kept to); their
    /// sessions end, so that none goes on with the old township.
    pub fn set_township(&mut self, user: &str, township: &str) -> Result<(), String> {
        super::jetstream::check_township(township, None)?;
        self.change(user, "UPDATE users SET township = ?2 WHERE user = ?1", township)
    }

    /// Disables (or enables again) a user; a disabled user's sessions end at once.
    pub fn set_disabled(&mut self, user: &str, disabled: bool) -> Result<(), String> {
        let flag = if disabled { "1" } else { "0" };
        self.change(user, "UPDATE users SET disabled = ?2 WHERE user = ?1", flag)
    }

    fn change(&mut self, user: &str, sql: &str, value: &str) -> Result<(), String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        if tx.execute(sql, params![user, value]).map_err(|e| e.to_string())? == 0 {
            return Err(format!("no user {user}"));
        }
        tx.execute("DELETE FROM sessions WHERE user = ?1", [user]).map_err(|e| e.to_string())?;
        // Signed sessions are kept nowhere: those opened before now no longer hold here.
        let now = Utc::now().timestamp();
        tx.execute("UPDATE users SET sessions_from = ?2 WHERE user = ?1", params![user, now])
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// Every user: (person, disabled).
    pub fn list(&self) -> Result<Vec<(Person, bool)>, String> {
        let mut stmt = self
            .db
            .prepare("SELECT user, display, seat, township, disabled, unit FROM users ORDER BY user")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| {
                let person = (r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get(3)?);
                Ok((person, r.get::<_, bool>(4)?, r.get::<_, Option<String>>(5)?))
            })
            .map_err(|e| e.to_string())?;
        let mut out = vec![];
        for row in rows {
            let ((user, display, seat, township), disabled, unit) = row.map_err(|e| e.to_string())?;
            let seat = SeatRole::from_code(&seat).ok_or_else(|| format!("user {user}: unknown role {seat}"))?;
            out.push((Person { user, display, seat, township, unit }, disabled));
        }
        Ok(out)
    }

    fn person(&self, user: &str) -> Result<Option<(Person, String, bool)>, LoginError> {
        let row = self
            .db
            .query_row("SELECT display, seat, township, hash, disabled, unit FROM users WHERE user = ?1", [user], |r| {
                let person = (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?);
                Ok((person, r.get::<_, String>(3)?, r.get::<_, bool>(4)?, r.get::<_, Option<String>>(5)?))
            })
            .optional()
            .map_err(|e| LoginError::Store(e.to_string()))?;
        let Some(((display, seat, township), hash, disabled, unit)) = row else { return Ok(None) };
        let seat = SeatRole::from_code(&seat).ok_or_else(|| LoginError::Store(format!("unknown role {seat}")))?;
        Ok(Some((Person { user: user.to_owned(), display, seat, township, unit }, hash, disabled)))
    }

    /// Checks a login. Slow on purpose (argon2id): run it off the sockets' threads.
    pub fn verify(&self, user: &str, password: &str) -> Result<Person, LoginError> {
        let Some((person, hash, disabled)) = self.person(user)? else {
            // Hash anyway, so an unknown name takes as long as a wrong password.
            let _ = hash_for_timing(password);
            return Err(LoginError::Wrong);
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| LoginError::Store(e.to_string()))?;
        Argon2::default().verify_password(password.as_bytes(), &parsed).map_err(|_| LoginError::Wrong)?;
        if disabled {
            return Err(LoginError::Disabled(user.to_owned()));
        }
        Ok(person)
    }

    /// Opens a session for a verified user; its token is what the seat says hello with.
    pub fn start_session(&mut self, user: &str, now: DateTime<Utc>) -> Result<String, String> {
        let expires = now + Duration::hours(SESSION_HOURS);
        if let Some(key) = &self.signing {
            let signed = format!("{SIGNED}{}.{}", crate::http::hex(user.as_bytes()), expires.timestamp());
            let tag = ring::hmac::sign(key, signed.as_bytes());
            return Ok(format!("{signed}.{}", crate::http::hex(tag.as_ref())));
        }
        let token = secret_hex(32)?;
        self.db
            .execute("DELETE FROM sessions WHERE expires < ?1", [now.to_rfc3339()])
            .and_then(|_| {
                self.db.execute(
                    "INSERT INTO sessions (token, user, expires) VALUES (?1, ?2, ?3)",
                    params![token, user, expires.to_rfc3339()],
                )
            })
            .map_err(|e| e.to_string())?;
        Ok(token)
    }

    /// The person a session token belongs to, if it is open and the user not disabled.
    pub fn session(&self, token: &str, now: DateTime<Utc>) -> Option<Person> {
        let (user, expires) = match token.strip_prefix(SIGNED) {
            Some(signed) => {
                let (user, expires) = self.signed(signed)?;
                // Opened before the user last changed here (a new password, disabled): over.
                let from: Option<i64> = self
                    .db
                    .query_row("SELECT sessions_from FROM users WHERE user = ?1", [&user], |r| r.get(0))
                    .optional()
                    .ok()??;
                let opened = expires - Duration::hours(SESSION_HOURS);
                if from.is_some_and(|from| opened.timestamp() < from) {
                    return None;
                }
                (user, expires)
            }
            None => {
                let (user, expires): (String, String) = self
                    .db
                    .query_row("SELECT user, expires FROM sessions WHERE token = ?1", [token], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .ok()??;
                (user, DateTime::parse_from_rfc3339(&expires).ok()?.with_timezone(&Utc))
            }
        };
        if expires < now {
            return None;
        }
        let (person, _, disabled) = self.person(&user).ok()??;
        (!disabled).then_some(person)
    }

    /// The user and end of a signed session (`signed`: its token after [`SIGNED`]), if this
    /// store's secret signed it.
    fn signed(&self, signed: &str) -> Option<(String, DateTime<Utc>)> {
        let (message, tag) = signed.rsplit_once('.')?;
        let tag = crate::http::unhex(tag)?;
        ring::hmac::verify(self.signing.as_ref()?, format!("{SIGNED}{message}").as_bytes(), &tag).ok()?;
        let (user, expires) = message.split_once('.')?;
        let user = String::from_utf8(crate::http::unhex(user)?).ok()?;
        Some((user, DateTime::from_timestamp(expires.parse().ok()?, 0)?))
    }
}

/// A throwaway hash with a fixed salt, only to spend the time a real check spends.
fn hash_for_timing(password: &str) -> Option<String> {
    let salt = SaltString::encode_b64(&[0u8; 16]).ok()?;
    Argon2::default().hash_password(password.as_bytes(), &salt).ok().map(|h| h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zhang() -> Person {
        Person {
            user: "zhang".into(),
            display: "值班员 张伟".into(),
            seat: SeatRole::DutyOfficer,
            township: "青溪镇".into(),
            unit: None,
        }
    }

    #[test]
    fn a_login_opens_a_session_and_a_wrong_password_or_a_disabled_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut users = Users::open(dir.path()).unwrap();
        assert!(users.add(&zhang(), "short").unwrap_err().contains("8 characters"));
        users.add(&zhang(), "correct horse").unwrap();
        assert!(users.add(&zhang(), "another one").unwrap_err().contains("exists"));
        let stored: String = users.db.query_row("SELECT hash FROM users", [], |r| r.get(0)).unwrap();
        assert!(stored.starts_with("$argon2id$") && !stored.contains("correct"), "{stored}");

        assert_eq!(users.verify("zhang", "wrong horse"), Err(LoginError::Wrong));
        assert_eq!(users.verify("nobody", "correct horse"), Err(LoginError::Wrong));
        assert_eq!(users.verify("zhang", "correct horse"), Ok(zhang()));

        let now = Utc::now();
        let token = users.start_session("zhang", now).unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(users.session(&token, now), Some(zhang()));
        assert_eq!(users.session(&token, now + Duration::hours(SESSION_HOURS + 1)), None, "expired");
        // Reopened (the hub restarted), the session still holds.
        drop(users);
        let mut users = Users::open(dir.path()).unwrap();
        assert_eq!(users.session(&token, now), Some(zhang()));

        users.set_disabled("zhang", true).unwrap();
        assert_eq!(users.session(&token, now), None, "a disabled user's session ends");
        assert_eq!(users.verify("zhang", "correct horse"), Err(LoginError::Disabled("zhang".into())));
        users.set_disabled("zhang", false).unwrap();
        users.set_password("zhang", "battery staple").unwrap();
        assert_eq!(users.verify("zhang", "correct horse"), Err(LoginError::Wrong));
        assert!(users.verify("zhang", "battery staple").is_ok());
        assert!(users.set_password("nobody", "battery staple").unwrap_err().contains("no user"));

        let token = users.start_session("zhang", now).unwrap();
        users.set_township("zhang", "t1").unwrap();
        assert_eq!(users.session(&token, now), None, "moved: the session ends");
        assert_eq!(users.verify("zhang", "battery staple").map(|p| p.township), Ok("t1".into()));
        for wrong in [" ", "county", &"镇".repeat(33)] {
            assert!(users.set_township("zhang", wrong).unwrap_err().contains("32 characters"), "{wrong}");
        }
    }

    /// Two gateways' stores sharing a secret: a session opened at one is taken at the other
    /// (which has the user too), until it ends or the user is disabled there; not by a store
    /// with another secret or none, nor changed in any part.
    #[test]
    fn a_signed_session_is_taken_by_every_store_that_shares_the_secret() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let [a_dir, b_dir, c_dir, d_dir] = [(); 4].map(|_| tempfile::tempdir().unwrap());
        let store = |dir: &tempfile::TempDir, secret: Option<&[u8]>| {
            let mut users = Users::open(dir.path()).unwrap();
            users.add(&zhang(), "correct horse").unwrap();
            match secret {
                Some(secret) => users.signing_sessions(secret).unwrap(),
                None => users,
            }
        };
        let mut a = store(&a_dir, Some(secret));
        let mut b = store(&b_dir, Some(secret));
        let now = Utc::now();
        let token = a.start_session("zhang", now).unwrap();
        assert!(token.starts_with(SIGNED), "{token}");
        assert_eq!(b.session(&token, now), Some(zhang()), "the other gateway takes it");
        assert_eq!(b.session(&token, now + Duration::hours(SESSION_HOURS + 1)), None, "ended");
        assert_eq!(store(&c_dir, Some(b"another secret, just as long as that")).session(&token, now), None, "another");
        assert_eq!(store(&d_dir, None).session(&token, now), None, "no secret");
        // Any part changed: the user, the end, the signature.
        let (signed, tag) = token.rsplit_once('.').unwrap();
        let (user, end) = signed.trim_start_matches(SIGNED).split_once('.').unwrap();
        let later = format!("{SIGNED}{user}.{}.{tag}", end.parse::<i64>().unwrap() + 3600);
        let someone = format!("{SIGNED}{}.{end}.{tag}", crate::http::hex(b"admin"));
        let forged = format!("{signed}.{}", "0".repeat(tag.len()));
        for changed in [later, someone, forged, format!("{token}0"), SIGNED.to_owned(), format!("{SIGNED}..")] {
            assert_eq!(b.session(&changed, now), None, "{changed}");
        }
        b.set_disabled("zhang", true).unwrap();
        assert_eq!(b.session(&token, now), None, "disabled there");
        assert_eq!(a.session(&token, now), Some(zhang()), "a store's own word on its users");
        // A new password there ends the sessions opened before it (also when enabled again);
        // one opened afterwards holds.
        let before = a.start_session("zhang", now - Duration::seconds(5)).unwrap();
        a.set_password("zhang", "battery staple").unwrap();
        b.set_disabled("zhang", false).unwrap();
        assert_eq!(a.session(&before, now), None, "a new password");
        assert_eq!(b.session(&before, now), None, "enabled again: the old sessions do not return");
        let after = a.start_session("zhang", Utc::now()).unwrap();
        assert_eq!(a.session(&after, Utc::now()), Some(zhang()));
        assert!(Users::open(a_dir.path()).unwrap().signing_sessions(b"short").is_err());
    }
}
