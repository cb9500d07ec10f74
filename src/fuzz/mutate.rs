//! The generator: a seed frame (valid JSON of some protocol) and a list of mutations, applied
//! in order. Strategies are small values, so proptest shrinks a failure to a short recipe.

use proptest::prelude::*;
use serde_json::{json, Value};

/// One way to damage a frame.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Replace the `at`-th node (in a walk of the tree) with `with`.
    Replace { at: usize, with: Filler },
    /// Remove the `at`-th key of an object.
    DropKey { at: usize },
    /// Add a key to the `at`-th object.
    AddKey {
        at: usize,
        key: String,
        with: Filler,
    },
    /// Cut the text at `at` (a fraction of its length, in thousandths).
    Truncate { at: u16 },
    /// Insert raw text (an escape, a bracket, a quote) at `at` thousandths of the length.
    Splice { at: u16, text: &'static str },
}

/// A replacement value.
#[derive(Clone, Debug)]
pub enum Filler {
    Null,
    Bool(bool),
    Int(i64),
    Huge,
    Float(f64),
    Str(String),
    /// A string of `n` times `c` (64 KiB to 1 MiB).
    Long(char, usize),
    /// Arrays nested `n` deep.
    Deep(usize),
    Array(Vec<i64>),
    Object,
}

impl Filler {
    fn value(&self) -> Value {
        match self {
            Filler::Null => Value::Null,
            Filler::Bool(b) => json!(b),
            Filler::Int(i) => json!(i),
            Filler::Huge => json!(u64::MAX),
            Filler::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Filler::Str(s) => json!(s),
            Filler::Long(c, n) => json!(c.to_string().repeat(*n)),
            Filler::Deep(n) => (0..*n).fold(json!(1), |v, _| json!([v])),
            Filler::Array(a) => json!(a),
            Filler::Object => json!({"type": "x", "nested": {"a": [1, {"b": null}]}}),
        }
    }
}

fn filler() -> impl Strategy<Value = Filler> {
    prop_oneof![
        Just(Filler::Null),
        any::<bool>().prop_map(Filler::Bool),
        any::<i64>().prop_map(Filler::Int),
        Just(Filler::Huge),
        prop_oneof![Just(f64::MAX), Just(-1.5), Just(1e-300), Just(0.5)].prop_map(Filler::Float),
        "\\PC{0,40}".prop_map(Filler::Str),
        prop_oneof![
            Just('\u{0}'),
            Just('\u{1b}'),
            Just('\u{202e}'),
            Just('é'),
            Just('"')
        ]
        .prop_map(|c| Filler::Str(c.to_string())),
        (
            prop_oneof![Just('x'), Just('\u{ffff}'), Just('😀')],
            prop_oneof![Just(65_536usize), Just(300_000), Just(1 << 20)]
        )
            .prop_map(|(c, n)| Filler::Long(c, n)),
        (1usize..300).prop_map(Filler::Deep),
        proptest::collection::vec(any::<i64>(), 0..5).prop_map(Filler::Array),
        Just(Filler::Object),
    ]
}

const SPLICES: &[&str] = &[
    "\\", "\"", "{", "}", "[", ",", ":", "\\ud800", "\\u0000", "\u{0}", "null", "1e999999", "-",
    "\u{feff}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0usize..64, filler()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        2 => (0usize..64).prop_map(|at| Mutation::DropKey { at }),
        2 => (0usize..64, prop_oneof![Just("type".to_string()), Just("__proto__".to_string()), "[a-z]{1,8}"], filler())
            .prop_map(|(at, key, with)| Mutation::AddKey { at, key, with }),
        1 => (0u16..1000).prop_map(|at| Mutation::Truncate { at }),
        1 => (0u16..1000, proptest::sample::select(SPLICES)).prop_map(|(at, text)| Mutation::Splice { at, text }),
    ]
}

/// A generated frame: the seed's index and the mutations to apply.
#[derive(Clone, Debug)]
pub struct Frame {
    pub seed: usize,
    pub mutations: Vec<Mutation>,
}

/// Frames made from `seeds`, with 0-4 mutations each (0: the valid seed itself).
pub fn frames(seeds: usize) -> impl Strategy<Value = Frame> {
    (0..seeds, proptest::collection::vec(mutation(), 0..5))
        .prop_map(|(seed, mutations)| Frame { seed, mutations })
}

impl Frame {
    /// The text of this frame, from `seeds`.
    pub fn text(&self, seeds: &[&str]) -> String {
        let mut value: Value =
            serde_json::from_str(seeds[self.seed]).expect("seeds are valid JSON");
        let mut text: Option<String> = None;
        for m in &self.mutations {
            match m {
                Mutation::Truncate { at } | Mutation::Splice { at, .. } => {
                    let t = text.get_or_insert_with(|| value.to_string());
                    let mut cut = t.len() * (*at as usize) / 1000;
                    while !t.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    match m {
                        Mutation::Splice { text: s, .. } => t.insert_str(cut, s),
                        _ => t.truncate(cut),
                    }
                }
                _ if text.is_some() => {} // structure is gone once the text is cut
                Mutation::Replace { at, with } => {
                    if let Some(node) = nth_node(&mut value, *at) {
                        *node = with.value();
                    }
                }
                Mutation::DropKey { at } => {
                    if let Some(Value::Object(map)) = nth_object(&mut value, *at) {
                        if let Some(k) = map.keys().nth(*at % map.len().max(1)).cloned() {
                            map.remove(&k);
                        }
                    }
                }
                Mutation::AddKey { at, key, with } => {
                    if let Some(Value::Object(map)) = nth_object(&mut value, *at) {
                        map.insert(key.clone(), with.value());
                    }
                }
            }
        }
        text.unwrap_or_else(|| value.to_string())
    }
}

/// The `n`-th node of a pre-order walk, wrapping around.
fn nth_node(value: &mut Value, n: usize) -> Option<&mut Value> {
    let count = count(value);
    let mut k = n % count.max(1);
    walk(value, &mut k)
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(m) => m.values().map(count).sum(),
        _ => 0,
    }
}

fn walk<'a>(v: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    if *k == 0 {
        return Some(v);
    }
    *k -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| walk(c, k)),
        Value::Object(m) => m.values_mut().find_map(|c| walk(c, k)),
        _ => None,
    }
}

/// The `n`-th object of the tree (wrapping), or the root.
fn nth_object(value: &mut Value, n: usize) -> Option<&mut Value> {
    let objects = count_objects(value);
    if objects == 0 {
        return None;
    }
    let mut k = n % objects;
    walk_objects(value, &mut k)
}

fn count_objects(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.iter().map(count_objects).sum(),
        Value::Object(m) => 1 + m.values().map(count_objects).sum::<usize>(),
        _ => 0,
    }
}

fn walk_objects<'a>(v: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    match v {
        Value::Object(_) if *k == 0 => Some(v),
        Value::Object(m) => {
            *k -= 1;
            m.values_mut().find_map(|c| walk_objects(c, k))
        }
        Value::Array(a) => a.iter_mut().find_map(|c| walk_objects(c, k)),
        _ => None,
    }
}
