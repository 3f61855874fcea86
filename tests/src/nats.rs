//! A NATS JetStream cluster on loopback for tests and benchmarks: Debian's `nats-server`
//! (2.9.10, `make deps`), three nodes routed to each other, each with its own store in a
//! temporary folder. A node can be killed (SIGKILL) and started again on its store and ports.
//! A secured cluster lets in only its user with its password, over TLS.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One node: its name (`n1`…), client port and route port, and its process while it runs.
struct Node {
    name: String,
    port: u16,
    route: u16,
    child: Option<Child>,
}

/// A running cluster; dropping it kills every node.
pub struct NatsCluster {
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
    /// Secured: the clients' user and password, and the nodes' TLS (their authority).
    secured: Option<Secured>,
}

/// What a secured cluster asks of its clients and shows them.
pub struct Secured {
    pub user: String,
    pub password: String,
    /// The authority that signed the nodes' certificate (for `127.0.0.1`).
    pub ca: std::path::PathBuf,
}

impl NatsCluster {
    /// Starts `n` nodes (named `n1`…) and waits until each takes connections.
    pub fn start(n: usize) -> NatsCluster {
        NatsCluster::started(n, false)
    }

    /// [`NatsCluster::start`], the nodes letting in only the user `gateway` with its password,
    /// over TLS (a certificate for 127.0.0.1 signed by an authority of the test's).
    pub fn start_secured(n: usize) -> NatsCluster {
        NatsCluster::started(n, true)
    }

    fn started(n: usize, secured: bool) -> NatsCluster {
        let dir = tempfile::tempdir().expect("a folder for the cluster");
        let ports = crate::free_tcp_port_list(2 * n);
        let nodes = (0..n)
            .map(|i| Node { name: format!("n{}", i + 1), port: ports[2 * i], route: ports[2 * i + 1], child: None })
            .collect();
        let secured = secured.then(|| {
            let tls = dir.path().join("tls");
            streams::feed::tls::make_site_certs(&tls, &["127.0.0.1".to_owned()]).expect("the nodes' certificates");
            Secured { user: "gateway".into(), password: "c4-horse-staple".into(), ca: tls.join("ca.pem") }
        });
        let mut cluster = NatsCluster { dir, nodes, secured };
        for i in 0..n {
            cluster.write_config(i);
            cluster.run(i);
        }
        cluster
    }

    /// `nats://127.0.0.1:port` of every node, comma-separated (as `linkage hub --nats` takes).
    pub fn urls(&self) -> String {
        self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.port)).collect::<Vec<_>>().join(",")
    }

    /// How a client is let in, when the cluster is secured.
    pub fn secured(&self) -> Option<&Secured> {
        self.secured.as_ref()
    }

    fn write_config(&self, i: usize) {
        let node = &self.nodes[i];
        let routes: Vec<String> = self.nodes.iter().map(|n| format!("nats-route://127.0.0.1:{}", n.route)).collect();
        let mut config = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\njetstream {{ store_dir: \"{store}\" }}\n\
             cluster {{\n  name: lk\n  listen: 127.0.0.1:{route}\n  routes: [{routes}]\n}}\n",
            name = node.name,
            port = node.port,
            store = self.dir.path().join(&node.name).display(),
            route = node.route,
            routes = routes.join(", "),
        );
        if let Some(secured) = &self.secured {
            let tls = self.dir.path().join("tls");
            config += &format!(
                "authorization {{ user: {}, password: {} }}\ntls {{ cert_file: \"{}\", key_file: \"{}\" }}\n",
                secured.user,
                secured.password,
                tls.join("server.pem").display(),
                tls.join("server.key").display()
            );
        }
        std::fs::write(self.dir.path().join(format!("{}.conf", node.name)), config).expect("a node's config");
    }

    fn run(&mut self, i: usize) {
        let conf = self.dir.path().join(format!("{}.conf", self.nodes[i].name));
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (make deps installs it)");
        self.nodes[i].child = Some(child);
        let port = self.nodes[i].port;
        let up = crate::wait_for(Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert!(up, "nats-server {} did not listen within 20 s", self.nodes[i].name);
    }

    fn index(&self, name: &str) -> usize {
        self.nodes.iter().position(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Kills node `name` with SIGKILL (no clean shutdown).
    pub fn kill(&mut self, name: &str) {
        let i = self.index(name);
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `name` again on its store and ports.
    pub fn restart(&mut self, name: &str) {
        let i = self.index(name);
        self.run(i);
    }

    /// The node leading `stream` now (asked of the cluster), once one does.
    pub async fn leader(&self, stream: &str) -> Option<String> {
        let mut options = async_nats::ConnectOptions::new();
        if let Some(s) = &self.secured {
            options = options.user_and_password(s.user.clone(), s.password.clone()).add_root_certificates(s.ca.clone());
        }
        let client = options.connect(self.urls().split(',').collect::<Vec<_>>().as_slice()).await.ok()?;
        let js = async_nats::jetstream::new(client);
        let info = js.get_stream(stream).await.ok()?.get_info().await.ok()?;
        info.cluster.and_then(|c| c.leader)
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
