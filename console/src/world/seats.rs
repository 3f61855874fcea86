//! The demo's unit seats: how a second `linkage` on the same machine finds the center.
//!
//! The embedded center's hub listens on a port of its own choosing and knows its clients only by
//! tokens it made at start. While it runs, it writes the hub's URL and the terminal token of
//! each *staffed* unit (`[simulation] staffed`: units a person plays, which no simulated
//! terminal answers for) into `DATA/seats.json`, readable by its owner only, and removes the file
//! when it stops. `linkage --unit ID` reads it and opens as that unit's seat. A real site has no
//! such file: its unit seats name the hub and their token in their own config (`[hub] unit`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file in the embedded center's data folder.
pub const FILE: &str = "seats.json";

#[derive(Serialize, Deserialize)]
struct Seats {
    hub: String,
    /// unit id → its terminal token.
    units: BTreeMap<String, String>,
}

/// The published file; dropping it removes it (the center stopped: its tokens are void).
pub struct Published(PathBuf);

impl Drop for Published {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `dir/seats.json` (mode 0600, replaced whole by a rename) for the staffed units.
pub fn publish(dir: &Path, hub: &str, units: BTreeMap<String, String>) -> Result<Published, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(FILE);
    let partial = dir.join(format!("{FILE}.new"));
    let text = serde_json::to_string_pretty(&Seats { hub: hub.to_owned(), units }).map_err(|e| e.to_string())?;
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let _ = std::fs::remove_file(&partial);
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Published(path))
}

/// The hub's URL and the terminal token of `unit`, as the running demo center published them.
pub fn find(dir: &Path, unit: &str) -> Result<(String, String), String> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("no demo center to join ({}: {e}): start it first with `make demo` (or `linkage`)", path.display())
    })?;
    let seats: Seats = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a seats file of this linkage: {e}", path.display()))?;
    match seats.units.get(unit) {
        Some(token) => Ok((seats.hub, token.clone())),
        None => {
            let staffed: Vec<&str> = seats.units.keys().map(String::as_str).collect();
            Err(format!(
                "the demo center plays unit {unit} itself; a person may take: {} ([simulation] staffed)",
                if staffed.is_empty() { "none".to_owned() } else { staffed.join(", ") }
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_seat_is_found_only_by_its_owner_and_gone_when_the_center_stops() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        assert!(find(dir.path(), "justice").unwrap_err().contains("make demo"));
        let published =
            publish(dir.path(), "ws://127.0.0.1:7000", BTreeMap::from([("justice".into(), "t0k3n".into())])).unwrap();
        let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "tokens are the owner's only");
        assert_eq!(find(dir.path(), "justice").unwrap(), ("ws://127.0.0.1:7000".into(), "t0k3n".into()));
        assert!(find(dir.path(), "police").unwrap_err().contains("justice"), "says which units a person may take");
        drop(published);
        assert!(find(dir.path(), "justice").is_err());
        std::fs::write(dir.path().join(FILE), "{").unwrap();
        assert!(find(dir.path(), "justice").unwrap_err().contains("not a seats file"));
    }
}
