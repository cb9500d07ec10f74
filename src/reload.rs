//! Hot reload of the configuration file: on SIGHUP, and when the file changes (watched with
//! `notify`, changes within 300 ms taken as one). A file that does not load or validate changes
//! nothing: the error (the file, and the line or the key) is logged and counted, and the running
//! configuration stays. What a good file changes is in [`crate::registry::Reloaded`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::registry::RegistryCell;
use crate::registry::Reload;

/// File events this close together are one change (editors write a file in several steps).
const SETTLE: Duration = Duration::from_millis(300);

/// Reloads `path` into the server's registry on SIGHUP and on every change of the file, until
/// the actix system stops. Call inside the system.
pub fn watch(path: PathBuf, registry: RegistryCell, metrics: Arc<Metrics>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
    let watcher = file_watcher(&path, tx.clone());
    let hangups = tx;
    actix_rt::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot watch SIGHUP: reload on file change only");
            return;
        };
        while hup.recv().await.is_some() {
            if hangups.send("SIGHUP").is_err() {
                return;
            }
        }
    });
    actix_rt::spawn(async move {
        let _watcher = watcher; // dropped (and the watch ended) with this task
        while let Some(why) = rx.recv().await {
            // Let a burst of events settle, then load once.
            tokio::time::sleep(SETTLE).await;
            while rx.try_recv().is_ok() {}
            reload(&path, why, &registry, &metrics).await;
        }
    });
}

/// Watches the file's directory (editors often replace the file) for events about the file.
fn file_watcher(
    path: &Path,
    tx: mpsc::UnboundedSender<&'static str>,
) -> Option<notify::RecommendedWatcher> {
    let name = path.file_name()?.to_owned();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event.paths.iter().any(|p| p.file_name() == Some(&name));
        let changed = event.kind.is_modify() || event.kind.is_create();
        if ours && changed {
            let _ = tx.send("file change");
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the config file: reload on SIGHUP only");
            return None;
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot watch the config directory: reload on SIGHUP only");
        return None;
    }
    Some(watcher)
}

async fn reload(path: &Path, why: &str, registry: &RegistryCell, metrics: &Metrics) {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(e) => {
            metrics.config_reload(false);
            tracing::error!(
                trigger = why,
                "configuration not reloaded, the running one stays: {e}"
            );
            return;
        }
    };
    let Some(registry) = registry.get() else {
        return;
    };
    match registry.send(Reload(Arc::new(config))).await {
        Ok(_) => metrics.config_reload(true),
        Err(e) => {
            metrics.config_reload(false);
            tracing::error!(error = %e, "configuration not reloaded: the registry is gone");
        }
    }
}
