//! backendai-local-server: a small Backend.AI server running code in local processes,
//! answering as Backend.AI 23.09 (API v7) or 26.09 (API v9), see `emulate.rs`.

mod apps;
mod auth;
mod config;
mod emulate;
mod error;
mod events;
mod execute;
mod ext;
mod files;
mod gql;
mod jwt;
mod kernel;
mod proxy;
mod pty;
mod record;
mod router;
mod service;
mod service_2609;
mod session;
mod state;
mod storage;
mod stream;
mod validate;
mod vfolder;
mod webserver;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;

use crate::config::Config;
use crate::state::AppState;

fn find_in_path(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return std::fs::canonicalize(prog).ok();
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).map(|d| d.join(prog)).find(|c| c.is_file())
    })
}

fn prepare_dirs(data_dir: &Path, python: &str) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(data_dir.join("sessions"))?;
    std::fs::create_dir_all(data_dir.join("vfolders"))?;
    let kernel_dir = data_dir.join(".kernel");
    std::fs::create_dir_all(&kernel_dir)?;
    std::fs::write(kernel_dir.join("runner.py"), kernel::RUNNER_PY)?;
    std::fs::write(kernel_dir.join("backendai_kernel.py"), kernel::HELPER_PY)?;
    std::fs::write(kernel_dir.join("backendai_workdir.py"), kernel::WORKDIR_PY)?;
    std::fs::write(kernel_dir.join("sitecustomize.py"), kernel::SITECUSTOMIZE_PY)?;
    std::fs::write(kernel_dir.join("webterm.py"), kernel::WEBTERM_PY)?;
    let ipython = kernel_dir.join("ipython").join("IPython");
    std::fs::create_dir_all(&ipython)?;
    std::fs::write(ipython.join("__init__.py"), kernel::IPYTHON_INIT_PY)?;
    std::fs::write(ipython.join("display.py"), kernel::IPYTHON_DISPLAY_PY)?;
    let bin_dir = kernel_dir.join("bin");
    std::fs::create_dir_all(&bin_dir)?;
    if let Some(py) = find_in_path(python) {
        for name in ["python", "python3"] {
            let link = bin_dir.join(name);
            let _ = std::fs::remove_file(&link);
            let _ = std::os::unix::fs::symlink(&py, &link);
        }
    }
    Ok((kernel_dir, bin_dir))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = match Config::from_args(&args, std::env::var("BAI_LOCAL_KEYPAIRS").ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    emulate::set(cfg.emulate);
    if cfg.record.is_none() {
        cfg.record = std::env::var_os("BAI_LOCAL_RECORD").filter(|v| !v.is_empty()).map(PathBuf::from);
    }
    if let Some(path) = &cfg.record {
        if let Err(e) = record::open(path) {
            eprintln!("cannot open the record file {}: {e}", path.display());
            std::process::exit(2);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
        .expect("tokio runtime");
    let code = rt.block_on(run(cfg));
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}

async fn run(cfg: Config) -> i32 {
    let (data_dir, temporary) = match &cfg.data_dir {
        Some(d) => (d.clone(), false),
        None => {
            let r: u64 = rand::random();
            (std::env::temp_dir().join(format!("backendai-local-{r:016x}")), true)
        }
    };
    let (kernel_dir, bin_dir) = match prepare_dirs(&data_dir, &cfg.python) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("cannot prepare the data directory {}: {e}", data_dir.display());
            return 1;
        }
    };
    let data_dir = std::fs::canonicalize(&data_dir).unwrap_or(data_dir);
    let kernel_dir = std::fs::canonicalize(&kernel_dir).unwrap_or(kernel_dir);
    let listener = match tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}:{}: {e}", cfg.host, cfg.port);
            if temporary {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            return 1;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(cfg.port);
    let verbose = cfg.verbose;
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let st = Arc::new(AppState {
        python: cfg.python.clone(),
        config: cfg.clone(),
        data_dir: data_dir.clone(),
        kernel_dir,
        bin_dir,
        sessions: Mutex::new(vec![]),
        logins: Mutex::new(Default::default()),
        events,
    });
    let app = Router::new().fallback(router::dispatch).with_state(st.clone());
    eprintln!("answering as Backend.AI {} ({})", cfg.emulate.name(), cfg.emulate.versions()["version"].as_str().unwrap_or(""));
    if cfg.generated_keypair {
        // printed once for the operator (not the published example key: nobody else knows it)
        let kp = &cfg.keypairs[0];
        let u = &cfg.users[0];
        eprintln!("no --keypair given: generated the keypair {}:{}", kp.access_key, kp.secret_key);
        eprintln!("session-mode login: {} / {}", u.email, u.password);
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "backendai-local-server listening on http://{}:{port}", cfg.host);
        let _ = out.flush();
    }
    if verbose {
        eprintln!("data directory: {}", data_dir.display());
    }
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal");
        let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).expect("signal");
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    };
    let served = tokio::select! {
        r = axum::serve(listener, app) => r.map_err(|e| e.to_string()),
        _ = shutdown => Ok(()),
    };
    st.kill_all();
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    } else {
        let _ = std::fs::remove_dir_all(data_dir.join(".kernel"));
        let _ = std::fs::remove_dir_all(data_dir.join("sessions"));
    }
    match served {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("server error: {e}");
            1
        }
    }
}
