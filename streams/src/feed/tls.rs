//! TLS for the hub (wss): a site's own certificate authority, the hub's certificate signed by
//! it, and the clients that trust that authority and nothing else.
//!
//! `linkage hub cert --data DIR --name HOST…` makes `DIR/tls/ca.pem` (give it to every seat),
//! `ca.key` (keep it; it signs the next server certificate), `server.pem` and `server.key`
//! (ECDSA P-256, valid ten years). A hub started with `--tls` serves only wss: a client that
//! speaks plain ws fails the TLS handshake and is dropped. rustls with the ring provider, TLS
//! 1.2 and 1.3.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream a WebSocket runs over: plain TCP or TLS on it.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The stream under every WebSocket of the hub and its clients.
pub type Socket = Box<dyn Io>;

/// What a client trusts for wss: the site's certificate authority.
pub type Trust = Arc<rustls::ClientConfig>;

/// The hub's side of TLS.
pub type Identity = Arc<rustls::ServerConfig>;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes the site's authority and the hub's certificate for `names` (host names or IP
/// addresses the seats use) in `dir`. Refuses to overwrite an authority that exists.
pub fn make_site_certs(dir: &Path, names: &[String]) -> Result<(), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    if dir.join("ca.pem").exists() {
        return Err(format!("{} holds a site CA already; remove it to make a new one", dir.display()));
    }
    if names.is_empty() {
        return Err("name at least one host name or address the seats connect to".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let e = |e: rcgen::Error| e.to_string();
    let ten_years = |p: &mut CertificateParams| {
        use chrono::Datelike;
        let today = chrono::Utc::now().date_naive();
        let (y, m, d) = (today.year(), today.month() as u8, today.day() as u8);
        p.not_before = rcgen::date_time_ymd(y, m, d);
        p.not_after = rcgen::date_time_ymd(y + 10, m, d.min(28));
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "linkage site CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ten_years(&mut ca);
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let mut server = CertificateParams::new(names.to_vec()).map_err(e)?;
    server.distinguished_name.push(DnType::CommonName, "linkage hub");
    ten_years(&mut server);
    let server_key = KeyPair::generate().map_err(e)?;
    let ca_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca, ca_key);
    let server_cert = server.signed_by(&server_key, &issuer).map_err(e)?;
    write(dir, "ca.pem", &ca_pem, false)?;
    write(dir, "ca.key", &ca_key_pem, true)?;
    write(dir, "server.pem", &format!("{}{ca_pem}", server_cert.pem()), false)?;
    write(dir, "server.key", &server_key.serialize_pem(), true)
}

/// Writes a file; a key only its owner may read.
fn write(dir: &Path, name: &str, text: &str, secret: bool) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    let mode = if secret { 0o600 } else { 0o644 };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The hub's TLS identity from `dir/server.pem` and `dir/server.key`.
pub fn identity(dir: &Path) -> Result<Identity, String> {
    let pem = dir.join("server.pem");
    let certs = CertificateDer::pem_file_iter(&pem)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", pem.display()))?;
    let key_path = dir.join("server.key");
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map(Arc::new)
        .map_err(|e| format!("TLS identity in {}: {e}", dir.display()))
}

/// A client's trust: the site CA in `ca_pem`, and nothing else.
pub fn trust(ca_pem: &Path) -> Result<Trust, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_pem)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", ca_pem.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", ca_pem.display()));
    }
    for cert in certs {
        roots.add(cert).map_err(|e| format!("{}: {e}", ca_pem.display()))?;
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Opens the stream a client's WebSocket (or a request to the files endpoint) runs over: TCP to
/// the URL's host and port, with TLS for `wss://` and `https://` (which need `trust`).
pub async fn connect(url: &str, trust: Option<&Trust>) -> Result<Socket, String> {
    let (secure, rest) = match url.split_once("://") {
        Some(("ws" | "http", rest)) => (false, rest),
        Some(("wss" | "https", rest)) => (true, rest),
        _ => return Err(format!("{url}: the hub's URL starts with ws:// or wss://")),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    let port = if authority.contains(':') {
        ""
    } else if secure {
        ":443"
    } else {
        ":80"
    };
    let tcp = TcpStream::connect(format!("{authority}{port}")).await.map_err(|e| format!("{authority}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if !secure {
        return Ok(Box::new(tcp));
    }
    let trust = trust.ok_or("a wss:// hub needs the site CA to trust ([hub] ca in the config)")?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(trust.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {authority}: {e}"))?;
    Ok(Box::new(tls))
}
