//! The one table of user-visible strings, zh-CN first and English second.
//!
//! Strings live in `assets/i18n.toml`, compiled in. A view asks `tr.t("region.wall")`; a
//! string with a `{name}` placeholder is filled with [`I18n::f`]. A key missing from the table
//! shows as the key itself (and a test over the sources makes sure that never ships).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The languages of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Parses `zh`, `zh-CN`, `en`, `en-US`…
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().split(['-', '_']).next() {
            Some("zh") => Some(Lang::Zh),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct Entry {
    zh: String,
    en: String,
}

/// The string table and the language in force.
pub struct I18n {
    lang: Lang,
    table: HashMap<String, Entry>,
}

const TABLE: &str = include_str!("../../assets/i18n.toml");

impl I18n {
    pub fn new(lang: Lang) -> I18n {
        // The table is compiled in and checked by a test, so a parse failure is a build defect.
        let table = toml::from_str(TABLE).unwrap_or_else(|e| {
            tracing::error!(error = %e, "assets/i18n.toml does not parse");
            HashMap::new()
        });
        I18n { lang, table }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    /// The string for `key` in the language in force.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        match self.table.get(key) {
            Some(e) if self.lang == Lang::Zh => &e.zh,
            Some(e) => &e.en,
            None => key,
        }
    }

    /// The string for `key` with `{name}` placeholders filled in.
    ///
    /// ```
    /// # use linkage::i18n::{I18n, Lang};
    /// let tr = I18n::new(Lang::En);
    /// assert_eq!(tr.f("queue.shown", &[("shown", "2"), ("n", "3")]), "2 of 3 shown");
    /// ```
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// Picks between a zh and an en text that came with data (kind names, for instance).
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_both_languages() {
        let table: HashMap<String, Entry> = toml::from_str(TABLE).expect("i18n.toml parses");
        assert!(table.len() > 40);
        for (key, e) in &table {
            assert!(!e.zh.trim().is_empty() && !e.en.trim().is_empty(), "{key} lacks a language");
        }
    }

    /// Scans the sources for `t("…")` and `f("…"` calls and checks each key is in the table.
    #[test]
    fn every_key_the_code_asks_for_is_in_the_table() {
        let tr = I18n::new(Lang::Zh);
        let mut missing = vec![];
        let mut seen = 0;
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut dirs = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for call in [".t(\"", ".f(\""] {
                    for (at, _) in text.match_indices(call) {
                        let rest = &text[at + call.len()..];
                        let key = &rest[..rest.find('"').unwrap()];
                        if key.contains('.') && !key.contains(' ') {
                            seen += 1;
                            if !tr.table.contains_key(key) {
                                missing.push(format!("{}: {key}", path.display()));
                            }
                        }
                    }
                }
            }
        }
        assert!(seen > 30, "the scan found only {seen} keys: is it still looking in the right place?");
        assert!(missing.is_empty(), "keys missing from assets/i18n.toml: {missing:#?}");
    }

    #[test]
    fn switching_language_changes_the_string() {
        let mut tr = I18n::new(Lang::Zh);
        assert_eq!(tr.t("region.wall"), "视频墙");
        tr.set_lang(Lang::En);
        assert_eq!(tr.t("region.wall"), "Video wall");
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
    }
}
