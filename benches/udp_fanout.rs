//! What batching a relay's fan-out into one `sendmmsg` would save: sender CPU per ~120-byte
//! datagram (a DTLS record of one chat message) sent to 19 loopback sockets, one `sendto` each
//! versus one `sendmmsg` for all 19. The receivers are drained on CPU 1, the sender runs on CPU 0.
//!
//! `unshare --net bash -c 'ip link set lo up; cargo bench --bench udp_fanout'` (docs/BENCHMARKS.md)

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use switchboard::bench::pin_current_thread;

const RECEIVERS: usize = 19;
const ROUNDS: usize = 20_000;

/// CPU time of the calling thread, in seconds.
fn thread_cpu() -> f64 {
    // SAFETY: `ts` is a valid out-parameter for clock_gettime.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn sockaddr(addr: &SocketAddr) -> libc::sockaddr_in {
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 loopback only")
    };
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(v4.ip().octets()),
        },
        sin_zero: [0; 8],
    }
}

/// One `sendmmsg` carrying `payload` to every address.
fn send_batch(tx: &UdpSocket, to: &mut [libc::sockaddr_in], payload: &[u8]) {
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut msgs: Vec<libc::mmsghdr> = to
        .iter_mut()
        .map(|sa| {
            // SAFETY: mmsghdr is plain data; the fields set below are the ones sendmmsg reads.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = (sa as *mut libc::sockaddr_in).cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut iov;
            h.msg_hdr.msg_iovlen = 1;
            h
        })
        .collect();
    // SAFETY: every header points at live stack/heap data for the duration of the call.
    unsafe { libc::sendmmsg(tx.as_raw_fd(), msgs.as_mut_ptr(), msgs.len() as u32, 0) };
}

fn main() {
    let receivers: Vec<UdpSocket> = (0..RECEIVERS)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind receiver"))
        .collect();
    let addrs: Vec<SocketAddr> = receivers.iter().map(|s| s.local_addr().unwrap()).collect();
    for s in &receivers {
        s.set_nonblocking(true).unwrap();
    }
    std::thread::spawn(move || {
        pin_current_thread(1).expect("pin the receivers to CPU 1");
        let mut buf = [0u8; 2048];
        loop {
            let mut got = false;
            for s in &receivers {
                while s.recv(&mut buf).is_ok() {
                    got = true;
                }
            }
            if !got {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    });
    pin_current_thread(0).expect("pin the sender to CPU 0");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let mut to: Vec<libc::sockaddr_in> = addrs.iter().map(sockaddr).collect();
    let payload = [7u8; 120];
    println!("{:<10} {:>28}", "mode", "sender CPU per datagram (µs)");
    for batched in [false, true, false, true, false, true] {
        let start = thread_cpu();
        for round in 0..ROUNDS {
            if batched {
                send_batch(&tx, &mut to, &payload);
            } else {
                for a in &addrs {
                    let _ = tx.send_to(&payload, a);
                }
            }
            if round % 50 == 0 {
                // Let the receivers keep up, so no socket buffer overflows.
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let per = (thread_cpu() - start) * 1e6 / (ROUNDS * RECEIVERS) as f64;
        let mode = if batched { "sendmmsg" } else { "sendto" };
        println!("{mode:<10} {per:>28.2}");
    }
}
