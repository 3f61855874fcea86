//! The incident-kind list (事件类型) with names in both languages.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentKind {
    pub code: String,
    pub zh: String,
    pub en: String,
    /// An emergency kind (rescue, fire): a high-severity report of it raises the alarm too.
    #[serde(default)]
    pub emergency: bool,
    /// For the simulator: how often this kind is reported.
    #[serde(default = "one")]
    pub weight: u32,
    /// For the simulator: relative weights of low, medium, high, critical.
    #[serde(default = "even")]
    pub severity_weights: [u32; 4],
    /// For the simulator: texts a grid worker might write.
    #[serde(default)]
    pub texts: Vec<String>,
}

fn one() -> u32 {
    1
}

fn even() -> [u32; 4] {
    [1, 1, 1, 1]
}

#[derive(Debug, Clone, Default)]
pub struct IncidentKinds {
    pub kinds: Vec<IncidentKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindFile {
    kind: Vec<IncidentKind>,
}

impl IncidentKinds {
    /// Parses the `[[kind]]` list; errors carry the line.
    pub fn from_toml(text: &str) -> Result<IncidentKinds, (Option<usize>, String)> {
        let file: KindFile = toml::from_str(text)
            .map_err(|e| (e.span().map(|s| crate::line_of(text, s.start)), e.message().to_owned()))?;
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = file.kind.iter().find(|k| !seen.insert(k.code.clone())) {
            return Err((None, format!("kind {} appears twice", dup.code)));
        }
        Ok(IncidentKinds { kinds: file.kind })
    }

    pub fn get(&self, code: &str) -> Option<&IncidentKind> {
        self.kinds.iter().find(|k| k.code == code)
    }
}
