//! A structure-aware fuzz of the protocol: every example frame of docs/protocol.md (a valid
//! envelope of every kind) with its body mutated — a value swapped for one of another type, a
//! huge one, a key dropped or added — must parse to a value or to an error with a reason, never
//! a panic; and whatever parses must survive a round trip and a fold into the rules (what every
//! seat and the server do with a logged event). Failing cases proptest finds are kept in
//! `proptest-regressions/` and replayed first; the examples are the seed corpus.

use linkage::core::Core;
use proptest::prelude::*;
use serde_json::Value;
use streams::feed::{Envelope, FeedUpdate};

fn corpus() -> Vec<Value> {
    let doc = include_str!("../../docs/protocol.md");
    doc.split("```json")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .map(|b| serde_json::from_str(b.trim()).expect("every example is JSON"))
        .collect()
}

/// Every place in `v` a mutation can land: paths of object keys and array indices.
fn places(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let mut p = at.clone();
                p.push(Value::String(k.clone()));
                places(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let mut p = at.clone();
                p.push(Value::from(i));
                places(child, p, out);
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let mut v = v;
    for step in path {
        v = match step {
            Value::String(k) => v.get_mut(k.as_str())?,
            Value::Number(i) => v.get_mut(i.as_u64()? as usize)?,
            _ => return None,
        };
    }
    Some(v)
}

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        (0usize..70_000).prop_map(|n| Value::from("字".repeat(n))),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({"x": 1})),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn a_valid_frame_with_its_body_mutated_parses_or_is_refused_and_folds_without_panic(
        example in any::<prop::sample::Index>(),
        place in any::<prop::sample::Index>(),
        mutation in 0u8..3,
        value in replacement(),
        key in "[a-z_]{1,12}",
    ) {
        let corpus = corpus();
        let mut frame = corpus[example.index(corpus.len())].clone();
        let Some(body) = frame.get_mut("body") else { return Ok(()) };
        let mut spots = vec![];
        places(body, vec![], &mut spots);
        let path = &spots[place.index(spots.len())];
        if let Some(target) = at_mut(body, path) {
            match (mutation, target) {
                (0, t) => *t = value,
                (1, Value::Object(m)) => {
                    let first = m.keys().next().cloned();
                    if let Some(k) = first { m.remove(&k); }
                }
                (_, Value::Object(m)) => { m.insert(key, value); }
                (_, t) => *t = value,
            }
        }
        let text = frame.to_string();
        if let Ok(env) = Envelope::parse(&text) {
            // What parses goes out again as it came in…
            let again = Envelope::parse(&env.to_text());
            prop_assert!(again.is_ok(), "{:?} for {}", again, text);
            // …and folds into the rules without a panic, as a logged event.
            let mut core = Core::default();
            core.on_feed(FeedUpdate::Event(Envelope { seq: 1, ..env.clone() }));
            core.on_feed(FeedUpdate::Event(Envelope { seq: 2, ..env }));
            let now = chrono::Utc::now();
            let _ = core.running_clocks(now);
            let _ = core.escalations_due(now);
            let _ = core.pages_due(now);
        }
    }
}
