//! The process figures of `/metrics` (`process_*`, named as Prometheus' client libraries name
//! them), read from `/proc` at each scrape. Linux only: elsewhere they are left out.

use std::fmt::Write;
use std::time::Duration;

/// Appends the process families to a Prometheus text exposition.
pub(super) fn render(text: &mut String) {
    // The CPU time is a counter in fractional seconds, which the recorder's integer counters
    // cannot hold; all three are read fresh at each scrape.
    if let Some(cpu) = cpu_time() {
        let _ = write!(
            text,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total {}\n\n",
            cpu.as_secs_f64()
        );
    }
    if let Some(fds) = open_fds() {
        let _ = write!(
            text,
            "# HELP process_open_fds Number of open file descriptors.\n\
             # TYPE process_open_fds gauge\n\
             process_open_fds {fds}\n\n"
        );
    }
    if let Some(bytes) = resident_memory_bytes() {
        let _ = write!(
            text,
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes {bytes}\n"
        );
    }
}

/// Resident set size of this process, from `/proc/self/statm`.
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// CPU time (user + system) this process has used, from `/proc/self/stat`.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name: state is 0, utime 11, stime 12 (in clock ticks of 10 ms).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// How many file descriptors this process holds (sockets, the history database, the config
/// watcher), from `/proc/self/fd`.
pub fn open_fds() -> Option<u64> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    // The directory handle itself is one of the entries while it is read.
    Some((dir.count() as u64).saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_descriptors_include_one_just_opened() {
        // stdin, stdout and stderr are open in every test process; so is `file` here.
        let file = std::fs::File::open("/proc/self/statm").unwrap();
        let mut text = String::new();
        render(&mut text);
        drop(file);
        let fds: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("process_open_fds "))
            .expect("process_open_fds in the text")
            .parse()
            .unwrap();
        assert!(fds >= 4, "{text}");
    }
}
