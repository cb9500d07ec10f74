use super::*;

#[test]
fn render_lists_counters_by_label() {
    let m = Metrics::new();
    m.message_in(InKind::Signal);
    m.message_out(OutKind::PeerJoined, 3);
    m.error(ErrorCode::NameTaken);
    let text = m.render();
    assert!(
        text.contains("switchboard_messages_in_total{type=\"signal\"} 1"),
        "{text}"
    );
    assert!(text.contains("switchboard_messages_out_total{type=\"peer_joined\"} 3"));
    assert!(text.contains("switchboard_errors_total{code=\"name_taken\"} 1"));
    assert!(text.contains("process_resident_memory_bytes"));
    assert!(text.contains("process_cpu_seconds_total"));
    assert!(text.contains("process_open_fds"));
}
