//! A loopback HTTP server that only counts the requests it receives: a
//! target that sandboxed plugins must never reach.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::Router;
use tokio::task::JoinHandle;

pub struct Canary {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Canary {
    pub async fn start() -> Canary {
        let hits = Arc::new(AtomicUsize::new(0));
        let app = Router::new()
            .fallback(|State(hits): State<Arc<AtomicUsize>>| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                "canary"
            })
            .with_state(Arc::clone(&hits));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the canary");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("canary server");
        });
        Canary { addr, hits, task }
    }

    /// A URL on the canary, e.g. `url("/x")`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.task.abort();
    }
}
