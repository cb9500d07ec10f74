//! Property tests over everything the server parses from the network, with a structured
//! generator: valid frames of each kind, mutated (a value of the wrong type, huge or negative
//! numbers, 64 KiB-1 MiB strings, deep nesting, control and bidi characters, lone surrogates,
//! keys dropped or added, truncation). Every target must answer (Ok or an error), never panic.
//!
//! `cargo test` runs each property with proptest's default case count (256: the CI pass);
//! `scripts/fuzz.sh` runs them with `PROPTEST_CASES` set to millions. A failing case proptest
//! finds is shrunk and printed; it becomes a regression test below (`regressions`).

mod mutate;
mod targets;
