//! A NATS JetStream cluster on loopback for tests and benchmarks: Debian's `nats-server`
//! (2.9.10, `make deps`), three nodes routed to each other, each with its own store in a
//! temporary folder. A node can be killed (SIGKILL) and started again on its store and ports.
//! A secured cluster lets in only its user with its password, over TLS, and routes only
//! between nodes that give the routes' password and show the nodes' certificate. A township's own node
//! ([`NatsCluster::leaf`]) joins the cluster as a leaf with its own JetStream domain, through the
//! cluster's links ([`Link`]), which the test can cut; a secured cluster's leaf nodes' port takes
//! in only a node that gives the leaves' password and shows a certificate of the townships'
//! authority — another than the nodes', so that no township's certificate opens the routes.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;

/// One node: its name (`n1`…), client port, route port and leaf nodes' port, the link leaf
/// nodes reach that port through, and its process while it runs.
struct Node {
    name: String,
    port: u16,
    route: u16,
    leafnodes: u16,
    link: Link,
    child: Option<Child>,
}

/// A running cluster; dropping it kills every node.
pub struct NatsCluster {
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
    /// Secured: the clients' user and password, and the nodes' TLS (their authority).
    secured: Option<Secured>,
}

/// What a secured cluster asks of its clients and shows them; its routes ask the nodes for
/// their own user and password, over TLS both ways (a node shows its certificate).
pub struct Secured {
    /// The county's gateways' user (it may do anything) and its password.
    pub user: String,
    pub password: String,
    /// The user of township t1's gateways in county c1, kept to what
    /// `streams::feed::nats_users::township_gateway` lets it do, and its password.
    pub township: (String, String),
    /// The authority that signed the nodes' certificate (for `127.0.0.1`).
    pub ca: std::path::PathBuf,
}

/// The user and password the nodes of a secured cluster route to each other with.
const ROUTES: (&str, &str) = ("route", "n0des-only-7e1f");

/// The user and password a township's node gives a secured cluster's leaf nodes' port.
const LEAVES: (&str, &str) = ("leaf", "t0wnsh1p-leaf-52c8");

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
        let ports = crate::free_tcp_port_list(3 * n);
        let nodes = (0..n)
            .map(|i| Node {
                name: format!("n{}", i + 1),
                port: ports[3 * i],
                route: ports[3 * i + 1],
                leafnodes: ports[3 * i + 2],
                link: Link::start(ports[3 * i + 2]),
                child: None,
            })
            .collect();
        let secured = secured.then(|| {
            let tls = dir.path().join("tls");
            streams::feed::tls::make_site_certs(&tls, &["127.0.0.1".to_owned()]).expect("the nodes' certificates");
            let leaves = dir.path().join("townships-ca");
            streams::feed::tls::make_site_certs(&leaves, &["townships".to_owned()]).expect("the townships' authority");
            Secured {
                user: "gateway".into(),
                password: "c4-horse-staple".into(),
                township: ("gateway-t1".into(), "t1-battery-clip".into()),
                ca: tls.join("ca.pem"),
            }
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

    /// Node `i`'s configuration. Its leaf nodes' port is advertised as its link's: a leaf node
    /// learns the nodes' addresses from them, and would go around a cut link otherwise.
    fn write_config(&self, i: usize) {
        let node = &self.nodes[i];
        let secured = self.secured.is_some();
        let tls = self.tls();
        let nodes_ca = tls.join("ca.pem");
        let mut config = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\njetstream {{ store_dir: \"{store}\" }}\n{cluster}\
             leafnodes {{\n  listen: 127.0.0.1:{leafnodes}\n  advertise: \"127.0.0.1:{link}\"\n{leaves}}}\n",
            name = node.name,
            port = node.port,
            store = self.dir.path().join(&node.name).display(),
            cluster =
                self.cluster_block(node.route, secured.then_some(ROUTES), secured.then_some((Some(&tls), &nodes_ca))),
            leafnodes = node.leafnodes,
            link = node.link.port(),
            leaves = if secured { self.leaves_access() } else { String::new() },
        );
        if let Some(secured) = &self.secured {
            let (township, password) = &secured.township;
            let kept = streams::feed::nats_users::township_gateway("c1", "t1").expect("t1's permissions");
            config += &format!(
                "authorization {{\n  users: [\n    {{ user: {}, password: {} }}\n    {{ user: {township}, password: {password}, {kept} }}\n  ]\n}}\n\
                 tls {{ cert_file: \"{}\", key_file: \"{}\" }}\n",
                secured.user,
                secured.password,
                tls.join("server.pem").display(),
                tls.join("server.key").display()
            );
        }
        std::fs::write(self.dir.path().join(format!("{}.conf", node.name)), config).expect("a node's config");
    }

    /// What a secured cluster's leaf nodes' port asks (lines of its `leafnodes` block): the
    /// leaves' user and password, over TLS both ways — the node shows the nodes' certificate,
    /// and takes a township's node's only if the townships' authority signed it.
    fn leaves_access(&self) -> String {
        let ca = self.townships_authority().join("ca.pem");
        authorization(LEAVES) + &tls_block(Some(&self.tls()), &ca, true)
    }

    /// A node's `cluster` block, listening for routes on `route`, routing to every node with
    /// `credentials` (a secured cluster's nodes ask them of each other), over TLS showing and
    /// trusting what `tls` names.
    fn cluster_block(&self, route: u16, credentials: Option<(&str, &str)>, tls: Option<Shown>) -> String {
        let user = credentials.map(|(user, password)| format!("{user}:{password}@")).unwrap_or_default();
        let routes: Vec<String> =
            self.nodes.iter().map(|n| format!("nats-route://{user}127.0.0.1:{}", n.route)).collect();
        let mut block =
            format!("cluster {{\n  name: lk\n  listen: 127.0.0.1:{route}\n  routes: [{}]\n", routes.join(", "));
        if let Some(credentials) = credentials {
            block += &authorization(credentials);
        }
        if let Some((cert, ca)) = tls {
            block += &tls_block(cert, ca, true);
        }
        block + "}\n"
    }

    /// A node from outside (no JetStream) that routes to the cluster, giving the routes'
    /// password or not, over TLS showing and trusting what `tls` names (the nodes' own
    /// certificate, [`NatsCluster::tls`], or a township's, or another authority's) or without:
    /// what is published on it reaches the cluster's clients only if the cluster takes it in
    /// ([`NatsCluster::hears`]).
    pub fn outsider(&self, password: bool, tls: Option<Shown>) -> NatsServer {
        let [port, route] = crate::free_tcp_ports();
        let cluster = self.cluster_block(route, password.then_some(ROUTES), tls);
        NatsServer::start("outsider", port, &cluster)
    }

    /// A township's own node, as deployed: its own JetStream (domain `domain`), a leaf node of
    /// the cluster reached through the cluster's links ([`NatsCluster::leafnode_links`]); to a
    /// secured cluster it gives the leaves' password, shows its own certificate
    /// ([`NatsCluster::township_certificate`]) and trusts the nodes' authority.
    pub fn leaf(&self, domain: &str) -> NatsServer {
        if self.secured.is_none() {
            return self.leaf_showing(domain, false, None);
        }
        let own = self.township_certificate(domain);
        self.leaf_showing(domain, true, Some((Some(&own), &self.tls().join("ca.pem"))))
    }

    /// A folder with a certificate for `domain`'s node signed by the townships' authority
    /// (`linkage hub cert --authority`, made once).
    pub fn township_certificate(&self, domain: &str) -> std::path::PathBuf {
        let own = self.dir.path().join(format!("leaf-{domain}"));
        if !own.exists() {
            streams::feed::tls::sign_site_cert(&self.townships_authority(), &own, &["127.0.0.1".to_owned()])
                .expect("the township's node's certificate");
        }
        own
    }

    /// [`NatsCluster::leaf`], giving the leaves' password or not, over TLS showing and trusting
    /// what `tls` names, or without.
    pub fn leaf_showing(&self, domain: &str, password: bool, tls: Option<Shown>) -> NatsServer {
        let user = if password { format!("{}:{}@", LEAVES.0, LEAVES.1) } else { String::new() };
        let urls: Vec<String> =
            self.leafnode_links().iter().map(|p| format!("\"nats-leaf://{user}127.0.0.1:{p}\"")).collect();
        let more = format!(
            "jetstream {{ store_dir: \"{{store}}\", domain: {domain} }}\n\
             leafnodes {{ reconnect: 1, remotes: [ {{ urls: [{}]\n{}}} ] }}\n",
            urls.join(", "),
            tls.map(|(cert, ca)| tls_block(cert, ca, false)).unwrap_or_default()
        );
        NatsServer::start(&format!("leaf-{domain}"), crate::free_tcp_port(), &more)
    }

    /// The folder with the secured nodes' certificate, key and authority.
    pub fn tls(&self) -> std::path::PathBuf {
        self.dir.path().join("tls")
    }

    /// The folder of the authority that signs the townships' nodes' certificates.
    pub fn townships_authority(&self) -> std::path::PathBuf {
        self.dir.path().join("townships-ca")
    }

    /// Whether a client of the cluster hears what a client of `outsider` publishes, within
    /// `patience` (published again every 200 ms). Both clients must connect.
    pub async fn hears(&self, outsider: &NatsServer, patience: Duration) -> bool {
        let listener = self.client().await.expect("a client of the cluster");
        let speaker = async_nats::connect(outsider.url()).await.expect("a client of the outsider");
        // Each outsider on its own subject: several may be heard for at once.
        let subject = format!("outsider.{}.says", outsider.port);
        let mut heard = listener.subscribe(subject.clone()).await.expect("a subscription on the cluster");
        listener.flush().await.expect("the subscription reached the cluster");
        let until = tokio::time::Instant::now() + patience;
        while tokio::time::Instant::now() < until {
            let _ = speaker.publish(subject.clone(), "hello".into()).await;
            let _ = speaker.flush().await;
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), heard.next()).await {
                return true;
            }
        }
        false
    }

    /// A client of the cluster, let in as the gateways are.
    async fn client(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        let user = self.secured.as_ref().map(|s| (s.user.as_str(), s.password.as_str()));
        self.client_as(user).await
    }

    /// A client of every node but `name`, of a cluster that is not secured: it stays where it
    /// is when `name` stops.
    pub async fn client_beside(&self, name: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
        assert!(self.secured.is_none(), "a client beside a node of a cluster that is not secured");
        let others: Vec<String> =
            self.nodes.iter().filter(|n| n.name != name).map(|n| format!("nats://127.0.0.1:{}", n.port)).collect();
        async_nats::ConnectOptions::new()
            .connect(others.iter().map(String::as_str).collect::<Vec<_>>().as_slice())
            .await
    }

    /// A client of the cluster as `user` with its password (a secured cluster's; none on one
    /// that is not).
    pub async fn client_as(&self, user: Option<(&str, &str)>) -> Result<async_nats::Client, async_nats::ConnectError> {
        assert_eq!(user.is_some(), self.secured.is_some(), "a user for a secured cluster, and only for one");
        let mut options = async_nats::ConnectOptions::new();
        if let (Some(s), Some((user, password))) = (&self.secured, user) {
            options = options.user_and_password(user.into(), password.into()).add_root_certificates(s.ca.clone());
        }
        options.connect(self.urls().split(',').collect::<Vec<_>>().as_slice()).await
    }

    fn run(&mut self, i: usize) {
        let conf = self.dir.path().join(format!("{}.conf", self.nodes[i].name));
        self.nodes[i].child = Some(nats_server(&conf, self.nodes[i].port, &self.nodes[i].name));
    }

    /// Where a leaf node reaches the nodes: each node's link to its leaf nodes' port.
    pub fn leafnode_links(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.link.port()).collect()
    }

    /// Cuts the county's line to its leaf nodes: every node's link.
    pub fn cut_leaf_links(&self) {
        self.nodes.iter().for_each(|n| n.link.cut());
    }

    /// Restores the county's line to its leaf nodes.
    pub fn restore_leaf_links(&self) {
        self.nodes.iter().for_each(|n| n.link.restore());
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

    /// Stops node `name` as a planned restart does: lame duck mode (`nats-server --signal
    /// ldm=PID`), in which it hands the leadership of what it leads to another node at once,
    /// closes its clients one by one and stops. [`NatsCluster::stopped`] says when it has.
    pub fn lame_duck(&mut self, name: &str) {
        let i = self.index(name);
        let Some(child) = &self.nodes[i].child else { return };
        let signalled = Command::new("nats-server")
            .arg("--signal")
            .arg(format!("ldm={}", child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(signalled.is_ok_and(|s| s.success()), "nats-server --signal ldm did not reach node {name}");
    }

    /// Whether node `name` has stopped (it was put in lame duck mode, or died).
    pub fn stopped(&mut self, name: &str) -> bool {
        let i = self.index(name);
        let running = self.nodes[i].child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)));
        if !running {
            self.nodes[i].child = None;
        }
        !running
    }

    /// Starts node `name` again on its store and ports.
    pub fn restart(&mut self, name: &str) {
        let i = self.index(name);
        self.run(i);
    }

    /// Node `name` lost for good and replaced: killed, its store deleted, and a fresh node
    /// started with the same name and ports on an empty store.
    pub fn replace(&mut self, name: &str) {
        self.kill(name);
        let store = self.dir.path().join(name);
        if store.exists() {
            std::fs::remove_dir_all(&store).expect("the lost node's store deleted");
        }
        self.restart(name);
    }

    /// Every byte node `name` keeps in the files of its copy of `stream` (its messages, as
    /// written).
    pub fn stored(&self, name: &str, stream: &str) -> Vec<u8> {
        fn read(dir: &std::path::Path, into: &mut Vec<u8>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    read(&path, into);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    into.extend(bytes);
                }
            }
        }
        let mut bytes = vec![];
        read(&self.dir.path().join(name).join("jetstream/$G/streams").join(stream), &mut bytes);
        bytes
    }

    /// The node leading `stream` now (asked of the cluster), once one does.
    pub async fn leader(&self, stream: &str) -> Option<String> {
        let js = async_nats::jetstream::new(self.client().await.ok()?);
        let info = js.get_stream(stream).await.ok()?.get_info().await.ok()?;
        info.cluster.and_then(|c| c.leader)
    }
}

/// What a node shows over TLS and whom it trusts: the folder of its certificate and key
/// (`server.pem`, `server.key`; none: it shows none), and the authority's certificate file.
pub type Shown<'a> = (Option<&'a std::path::Path>, &'a std::path::Path);

/// An `authorization` block's line for a user and its password.
fn authorization((user, password): (&str, &str)) -> String {
    format!("  authorization {{ user: {user}, password: {password} }}\n")
}

/// A `tls` block's line showing the certificate and key in the folder `cert` (if any) and
/// trusting the authority in the file `ca`; `verify`: the other side must show a certificate
/// of that authority.
fn tls_block(cert: Option<&std::path::Path>, ca: &std::path::Path, verify: bool) -> String {
    let shown = cert.map_or(String::new(), |cert| {
        let (pem, key) = (cert.join("server.pem"), cert.join("server.key"));
        format!("cert_file: \"{}\", key_file: \"{}\", ", pem.display(), key.display())
    });
    format!("  tls {{ {shown}ca_file: \"{}\"{} }}\n", ca.display(), if verify { ", verify: true" } else { "" })
}

/// Runs `nats-server -c conf` and waits until it takes connections on `port`.
fn nats_server(conf: &std::path::Path, port: u16, name: &str) -> Child {
    let child = Command::new("nats-server")
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server runs (make deps installs it)");
    let up = crate::wait_for(Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(up, "nats-server {name} did not listen within 20 s");
    child
}

/// One nats-server beside the cluster, in a temporary folder: a township's own node
/// ([`NatsCluster::leaf`]) or a node trying to route in from outside
/// ([`NatsCluster::outsider`]). Dropping it kills it.
pub struct NatsServer {
    _dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl NatsServer {
    /// `nats-server` named `name` on `port` with the rest of its configuration `more`
    /// (`{store}` in it: a folder for its store).
    fn start(name: &str, port: u16, more: &str) -> NatsServer {
        let dir = tempfile::tempdir().expect("a folder for the node");
        let conf = dir.path().join("node.conf");
        let more = more.replace("{store}", &dir.path().join("store").display().to_string());
        std::fs::write(&conf, format!("server_name: {name}\nlisten: 127.0.0.1:{port}\n{more}"))
            .expect("the node's config");
        let child = nats_server(&conf, port, name);
        NatsServer { _dir: dir, port, child }
    }

    /// `nats://127.0.0.1:port` of the node (a township's gateway's `--nats`).
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A network link between two places on loopback: a TCP relay from its own port to
/// `127.0.0.1:to` that a test can cut (every connection through it dropped, new ones
/// refused at once, as a dead rural line does) and restore.
pub struct Link {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Link {
    pub fn start(to: u16) -> Link {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port for the link");
        let port = listener.local_addr().expect("the link's port").port();
        let link = Link { port, up: Default::default(), open: Default::default() };
        link.up.store(true, Ordering::SeqCst);
        let (up, open) = (link.up.clone(), link.open.clone());
        std::thread::spawn(move || {
            for near in listener.incoming().flatten() {
                if !up.load(Ordering::SeqCst) {
                    continue; // dropped: the far side does not answer
                }
                let Ok(far) = std::net::TcpStream::connect(("127.0.0.1", to)) else { continue };
                let (Ok(near2), Ok(far2), Ok(a), Ok(b)) =
                    (near.try_clone(), far.try_clone(), near.try_clone(), far.try_clone())
                else {
                    continue;
                };
                // Checked and kept under the lock `cut` takes: a connection either is cut with
                // the others or is dropped here (the far side does not answer).
                let mut kept = open.lock().unwrap_or_else(|e| e.into_inner());
                if !up.load(Ordering::SeqCst) {
                    continue;
                }
                kept.extend([a, b]);
                drop(kept);
                let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    })
                };
                pipe(near, far2);
                pipe(far, near2);
            }
        });
        link
    }

    /// The link's near end (where the leaf node connects).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cuts the link: every connection through it dropped, new ones refused until restored.
    pub fn cut(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for stream in open.drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Restores the link: new connections go through again.
    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
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
