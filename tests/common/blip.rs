//! A TCP proxy in front of the server that can make a network blip: `cut` stops every
//! connection it carries without a close or a FIN (as when a phone changes network: the sockets
//! stay open and deliver nothing), while new connections go through as before.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The proxy; it stops (and drops what it holds) when dropped.
pub struct Blip {
    /// Where clients connect.
    pub addr: SocketAddr,
    cut: watch::Sender<u64>,
    /// Connections that were cut, held open so that neither end sees them end.
    _held: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Blip {
    /// A proxy on 127.0.0.1:0 to `server`.
    pub async fn start(server: SocketAddr) -> Blip {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let (cut, cuts) = watch::channel(0u64);
        let held = Arc::new(Mutex::new(Vec::new()));
        let graveyard = held.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let Ok(mut upstream) = TcpStream::connect(server).await else {
                    continue;
                };
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                let graveyard = graveyard.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut upstream) => {}
                        _ = cuts.changed() => graveyard.lock().unwrap().push((client, upstream)),
                    }
                });
            }
        });
        Blip {
            addr,
            cut,
            _held: held,
            accept,
        }
    }

    /// The signaling URL through the proxy.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Silences every connection open now; later ones are carried normally.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

impl Drop for Blip {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
