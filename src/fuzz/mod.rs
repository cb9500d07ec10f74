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

/// Cases the fuzzer found, kept by name (proptest also replays its seeds from
/// `proptest-regressions/`).
#[cfg(test)]
mod regressions {
    use super::targets;

    /// A `kicked` whose reason is an array nested 126 deep: the PeerJS writer passed it through,
    /// and its `ERROR` came out 129 deep, past what serde_json (and many parsers) accept.
    #[test]
    fn a_deeply_nested_reason_is_not_passed_to_a_peerjs_client() {
        let deep = (0..126).fold(String::from("1"), |v, _| format!("[{v}]"));
        targets::hub_out(&format!(
            r#"{{"type":"kicked","room":"r","reason":{deep}}}"#
        ));
        targets::hub_out(&format!(
            r#"{{"type":"error","code":"x","message":{deep}}}"#
        ));
    }
}
