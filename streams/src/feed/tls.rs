//! TLS for the hub (wss): a site's own certificate authority, the hub's certificate signed by
//! it, and the clients that trust that authority and nothing else.
//!
//! `linkage hub cert --data DIR --names HOST,…` makes `DIR/tls/ca.pem` (give it to every seat),
//! `ca.key` (keep it; it signs the next certificate: [`sign_site_cert`], `linkage hub cert
//! --authority`), `server.pem` and `server.key` (ECDSA P-256, valid ten years). A hub started
//! with `--tls` serves only wss: a client that speaks plain ws fails the TLS handshake and is
//! dropped. rustls with the ring provider, TLS 1.2 and 1.3.

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
    if dir.join("ca.pem").exists() {
        return Err(format!("{} holds a site CA already; remove it to make a new one", dir.display()));
    }
    let certificate = certificate_for(names)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ca_key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let ca_pem = authority().self_signed(&ca_key).map_err(|e| e.to_string())?.pem();
    write(dir, "ca.pem", &ca_pem, false)?;
    write(dir, "ca.key", &ca_key.serialize_pem(), true)?;
    write_signed(dir, certificate, &ca_pem, ca_key)
}

/// Makes another certificate of the site's authority in `authority` (its `ca.pem` and `ca.key`,
/// made by [`make_site_certs`]) for `names`, in `dir`: `server.pem`, `server.key` and a copy of
/// `ca.pem` — what a second hub serves with, or what a township's NATS node shows the county's
/// (a folder like the authority's, without its key). Refuses to overwrite.
pub fn sign_site_cert(authority: &Path, dir: &Path, names: &[String]) -> Result<(), String> {
    let certificate = certificate_for(names)?;
    let read = |name: &str| {
        let path = authority.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e} (made by `linkage hub cert`?)", path.display()))
    };
    let (ca_pem, ca_key) = (read("ca.pem")?, read("ca.key")?);
    let ca_key =
        rcgen::KeyPair::from_pem(&ca_key).map_err(|e| format!("{}: {e}", authority.join("ca.key").display()))?;
    // Everything checked before anything is written: no half-made pair is left behind.
    if dir.join("server.pem").exists() || dir.join("server.key").exists() {
        return Err(format!("{} holds a certificate or key already; remove both to make a new one", dir.display()));
    }
    let trusted = std::fs::read_to_string(dir.join("ca.pem")).ok();
    if trusted.as_ref().is_some_and(|t| *t != ca_pem) {
        return Err(format!(
            "{} trusts another authority (its ca.pem); remove it to sign with this one",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if trusted.is_none() {
        write(dir, "ca.pem", &ca_pem, false)?;
    }
    write_signed(dir, certificate, &ca_pem, ca_key)
}

/// The site authority's parameters: the same each time, so that its key, read back, signs as
/// the authority that `ca.pem` names (its name, and a key identifier from its key).
fn authority() -> rcgen::CertificateParams {
    use rcgen::{BasicConstraints, DnType, IsCa, KeyUsagePurpose};
    let mut ca = rcgen::CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "linkage site CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ten_years(&mut ca);
    ca
}

/// A certificate's parameters for `names`, valid ten years from today.
fn certificate_for(names: &[String]) -> Result<rcgen::CertificateParams, String> {
    if names.is_empty() {
        return Err("name at least one host name or address it is reached at".into());
    }
    let mut server = rcgen::CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
    server.distinguished_name.push(rcgen::DnType::CommonName, "linkage hub");
    ten_years(&mut server);
    Ok(server)
}

/// From today for ten years.
fn ten_years(p: &mut rcgen::CertificateParams) {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let (y, m, d) = (today.year(), today.month() as u8, today.day() as u8);
    p.not_before = rcgen::date_time_ymd(y, m, d);
    p.not_after = rcgen::date_time_ymd(y + 10, m, d.min(28));
}

/// Signs `certificate` with a new key by the authority (`ca_pem`, its key `ca_key`), and writes
/// `server.pem` (the certificate, then the authority's) and `server.key` in `dir`.
fn write_signed(
    dir: &Path,
    certificate: rcgen::CertificateParams,
    ca_pem: &str,
    ca_key: rcgen::KeyPair,
) -> Result<(), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let issuer = rcgen::Issuer::new(authority(), ca_key);
    let signed = certificate.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    write(dir, "server.pem", &format!("{}{ca_pem}", signed.pem()), false)?;
    write(dir, "server.key", &key.serialize_pem(), true)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a client trusting `ca_pem` completes a handshake with a server showing the
    /// identity in `dir`, for `host` (in memory, rustls on both sides).
    fn handshake(ca_pem: &Path, dir: &Path, host: &str) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(host.to_owned()).unwrap();
        let mut client = rustls::ClientConnection::new(trust(ca_pem).unwrap(), name).unwrap();
        let mut server = rustls::ServerConnection::new(identity(dir).unwrap()).unwrap();
        while client.is_handshaking() || server.is_handshaking() {
            let mut bytes = vec![];
            client.write_tls(&mut bytes).unwrap();
            server.read_tls(&mut bytes.as_slice()).unwrap();
            server.process_new_packets()?;
            bytes.clear();
            server.write_tls(&mut bytes).unwrap();
            client.read_tls(&mut bytes.as_slice()).unwrap();
            client.process_new_packets()?;
        }
        Ok(())
    }

    #[test]
    fn a_certificate_signed_by_the_site_authority_later_is_trusted_as_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        make_site_certs(&site, &["127.0.0.1".into()]).unwrap();
        let township = dir.path().join("leaf-t1");
        sign_site_cert(&site, &township, &["10.9.0.5".into(), "leaf-t1.qingxi".into()]).unwrap();
        assert_eq!(std::fs::read(township.join("ca.pem")).unwrap(), std::fs::read(site.join("ca.pem")).unwrap());
        assert!(!township.join("ca.key").exists(), "the authority's key stays where it was");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(township.join("server.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is for its owner only");
        handshake(&site.join("ca.pem"), &site, "127.0.0.1").unwrap();
        handshake(&site.join("ca.pem"), &township, "leaf-t1.qingxi").unwrap();
        handshake(&site.join("ca.pem"), &township, "10.9.0.5").unwrap();
        // Only for the names it was made for, and only to those who trust that authority.
        assert!(handshake(&site.join("ca.pem"), &township, "127.0.0.1").is_err());
        let other = dir.path().join("other");
        make_site_certs(&other, &["10.9.0.5".into()]).unwrap();
        assert!(handshake(&other.join("ca.pem"), &township, "10.9.0.5").is_err());
    }

    #[test]
    fn a_certificate_is_signed_only_by_an_authority_that_exists_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["127.0.0.1".to_owned()];
        let site = dir.path().join("site");
        let said = sign_site_cert(&site, &dir.path().join("hub2"), &names).unwrap_err();
        assert!(said.contains("ca.pem") && said.contains("linkage hub cert"), "{said}");
        make_site_certs(&site, &names).unwrap();
        assert!(sign_site_cert(&site, &dir.path().join("hub2"), &[]).unwrap_err().contains("name at least one"));
        sign_site_cert(&site, &dir.path().join("hub2"), &names).unwrap();
        let said = sign_site_cert(&site, &dir.path().join("hub2"), &names).unwrap_err();
        assert!(said.contains("holds a certificate or key already"), "{said}");
        // Nothing half-made: a key left alone is not paired with a new certificate.
        std::fs::remove_file(dir.path().join("hub2/server.pem")).unwrap();
        assert!(sign_site_cert(&site, &dir.path().join("hub2"), &names).is_err());
        // Its own folder holds a certificate; a folder trusting another authority is not mixed.
        assert!(sign_site_cert(&site, &site, &names).is_err());
        let other = dir.path().join("other");
        make_site_certs(&other, &names).unwrap();
        std::fs::remove_file(other.join("server.pem")).unwrap();
        std::fs::remove_file(other.join("server.key")).unwrap();
        let said = sign_site_cert(&site, &other, &names).unwrap_err();
        assert!(said.contains("trusts another authority"), "{said}");
        // A folder that already trusts this authority gets its certificate.
        std::fs::create_dir_all(dir.path().join("hub4")).unwrap();
        std::fs::copy(site.join("ca.pem"), dir.path().join("hub4/ca.pem")).unwrap();
        sign_site_cert(&site, &dir.path().join("hub4"), &names).unwrap();
        std::fs::write(site.join("ca.key"), "not a key").unwrap();
        let said = sign_site_cert(&site, &dir.path().join("hub3"), &names).unwrap_err();
        assert!(said.contains("ca.key"), "{said}");
    }
}
