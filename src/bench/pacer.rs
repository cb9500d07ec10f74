//! An even send schedule for the latency scenarios, woken by a `timerfd` rather than tokio's
//! millisecond timer wheel.
//!
//! tokio rounds every sleep up to its next 1 ms tick, so a schedule of one message per
//! millisecond woke late and sent two messages back to back every other tick: the second one
//! waited behind the first at the sender, the server and the receiver, and the "steady
//! 1,000 msg/s" was really 500 bursts of two. A `timerfd` fires on a high-resolution timer and
//! wakes the runtime's `epoll` directly, so each message leaves at its own time.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// `rate` messages per second in total until a deadline, numbered from 0 (round-robin senders
/// use `k % senders`).
pub struct Pacer {
    start: Instant,
    period: Duration,
    deadline: Instant,
    next: u64,
    timer: AsyncFd<Timer>,
}

/// `TimerFd` as tokio's `AsyncFd` wants it (nix gives it `AsFd` only).
struct Timer(TimerFd);

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Pacer {
    /// A schedule starting now. Needs a tokio runtime with I/O enabled.
    pub fn new(rate: u64, deadline: Instant) -> std::io::Result<Pacer> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: `Timer` owns the timerfd and always returns that same descriptor; it is
        // closed only when the `AsyncFd` (and so the `Timer`) is dropped.
        let timer = unsafe { AsyncFd::register_with_interest(Timer(timer), Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Pacer {
            start: Instant::now(),
            period: Duration::from_secs_f64(1.0 / rate.max(1) as f64),
            deadline,
            next: 0,
            timer,
        })
    }

    /// Waits until the next message is due; returns the numbers of every message due by now
    /// (more than one only if the caller fell behind), or `None` once the deadline has passed.
    pub async fn due(&mut self) -> std::io::Result<Option<std::ops::Range<u64>>> {
        let at = self.start + self.period.mul_f64(self.next as f64);
        self.sleep_until(at).await?;
        let now = Instant::now();
        if now >= self.deadline {
            return Ok(None);
        }
        let elapsed = now.duration_since(self.start).as_secs_f64() / self.period.as_secs_f64();
        let from = self.next;
        self.next = (elapsed as u64 + 1).max(from + 1);
        Ok(Some(from..self.next))
    }

    /// How many messages have been due so far.
    pub fn count(&self) -> u64 {
        self.next
    }

    async fn sleep_until(&self, at: Instant) -> std::io::Result<()> {
        let wait = at.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        self.timer.get_ref().0.set(
            Expiration::OneShot(TimeSpec::from_duration(wait)),
            TimerSetTimeFlags::empty(),
        )?;
        loop {
            let mut ready = self.timer.readable().await?;
            // Reading the expiration count re-arms readiness; EAGAIN means not yet.
            match nix::unistd::read(self.timer.get_ref().0.as_fd(), &mut [0u8; 8]) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EAGAIN) => ready.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paces_one_message_at_a_time_at_sub_millisecond_periods() {
        // 2,000/s: a 0.5 ms period that tokio's 1 ms timer could only meet in pairs.
        let deadline = Instant::now() + Duration::from_millis(100);
        let mut pacer = Pacer::new(2000, deadline).unwrap();
        let (mut wakes, mut singles) = (0, 0);
        while let Some(due) = pacer.due().await.unwrap() {
            wakes += 1;
            if due.end - due.start == 1 {
                singles += 1;
            }
        }
        let sent = pacer.count();
        assert!(
            (150..=201).contains(&sent),
            "{sent} messages in 100 ms at 2,000/s"
        );
        // tokio's timer could send none alone (every wake >= 1 ms after the last); a busy test
        // machine can delay some wakes, so a third is enough to tell the two apart.
        assert!(
            singles * 3 > wakes,
            "{singles} of {wakes} wakes sent one message"
        );
    }
}
