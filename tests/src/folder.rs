//! A folder served over HTTP on loopback by Python's http.server (a peer that is not ours), for
//! clients that fetch files: an HLS player its playlist and segments, a browser its page.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The server, stopped when dropped.
pub struct FolderServer {
    child: Child,
    pub port: u16,
}

impl FolderServer {
    /// Serves `dir` on a free port of 127.0.0.1; returns once the port answers (at most 10 s).
    pub fn start(dir: &Path) -> FolderServer {
        let port = crate::free_tcp_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 serves the folder");
        let server = FolderServer { child, port };
        let answers = || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        assert!(crate::wait_for(Duration::from_secs(10), answers), "python3's http.server did not listen");
        server
    }
}

impl Drop for FolderServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
