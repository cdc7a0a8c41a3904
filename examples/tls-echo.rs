//! A TLS echo server and client: futures-rustls (rustls with the ring provider) over
//! solo's TCP streams, with a self-signed certificate made by rcgen at start-up.
//!
//! futures-rustls speaks the `futures-io` traits, so it runs on solo as it is. The second
//! client, [`round_trip_tokio_rustls`], is the recipe for crates written against tokio's
//! io traits (tokio-rustls here; tokio-tungstenite likewise): `tokio_util::compat` turns a
//! solo stream into a tokio `AsyncRead + AsyncWrite` (and a tokio stream back into a
//! `futures-io` one) without any tokio runtime; only tokio's traits are used.
//!
//! Try it: `cargo run --example tls-echo --features ecosystem-examples` serves on
//! 127.0.0.1:7443 (or `-- ADDR`) and prints its certificate; save that as `cert.pem` and
//! run `openssl s_client -connect 127.0.0.1:7443 -CAfile cert.pem`, then type lines.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use futures_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use futures_rustls::{TlsAcceptor, TlsConnector};
use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream};

/// The name the certificate is made for, and the one the clients check.
pub const SERVER_NAME: &str = "localhost";

/// The server's and the clients' TLS configurations, around a fresh self-signed
/// certificate for [`SERVER_NAME`]; also the certificate (DER) for anyone else to trust.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The server's: the certificate and its private key.
    pub server: Arc<ServerConfig>,
    /// The clients': trusts that certificate alone.
    pub client: Arc<ClientConfig>,
    /// The certificate.
    pub cert: CertificateDer<'static>,
    /// The certificate in PEM, for other clients to trust.
    pub cert_pem: String,
}

impl Tls {
    /// Makes a self-signed certificate with rcgen and both configurations, on rustls's
    /// ring provider (named explicitly, so no process-wide default is needed).
    pub fn self_signed() -> io::Result<Tls> {
        let made = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()])
            .map_err(io::Error::other)?;
        let cert = made.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        // rustls 0.23.48 deprecated ring's provider (it has no post-quantum key exchange;
        // aws-lc-rs, rustls's default, has). ring is what this example is about: pure
        // C and assembly that any C compiler builds, no cmake.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .map_err(io::Error::other)?;
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).map_err(io::Error::other)?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls {
            server: Arc::new(server),
            client: Arc::new(client),
            cert,
            cert_pem: made.cert.pem(),
        })
    }
}

/// Accepts connections forever; each is a TLS session that echoes every byte.
pub async fn serve(listener: TcpListener, server: Arc<ServerConfig>) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(server);
    loop {
        let (stream, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        solo::spawn(async move {
            if let Err(e) = echo(&acceptor, stream).await {
                eprintln!("{peer}: {e}");
            }
        })
        .detach();
    }
}

/// The TLS handshake on `stream`, then the echo until the client closes; returns the
/// bytes echoed.
pub async fn echo(acceptor: &TlsAcceptor, stream: TcpStream) -> io::Result<u64> {
    let mut tls = acceptor.accept(stream).await?;
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            // The client's close_notify: answer with ours.
            tls.close().await?;
            return Ok(total);
        }
        tls.write_all(&buf[..n]).await?;
        // rustls buffers records: flush to send them now.
        tls.flush().await?;
        total += n as u64;
    }
}

/// Connects with futures-rustls, sends `msg`, reads as many bytes back and closes.
pub async fn round_trip(
    client: Arc<ClientConfig>,
    addr: SocketAddr,
    msg: &[u8],
) -> io::Result<Vec<u8>> {
    let name = ServerName::try_from(SERVER_NAME).map_err(io::Error::other)?;
    let stream = TcpStream::connect(addr).await?;
    let mut tls = TlsConnector::from(client).connect(name, stream).await?;
    let mut back = vec![0; msg.len()];
    // Write and read at once: a message larger than the buffers cannot deadlock.
    let (mut reader, mut writer) = solo::io::split(&mut tls);
    solo::future::try_zip(
        async {
            writer.write_all(msg).await?;
            writer.flush().await
        },
        reader.read_exact(&mut back),
    )
    .await?;
    tls.close().await?;
    Ok(back)
}

/// The same client through tokio-rustls, a crate written for tokio's io traits: the solo
/// stream goes in through `tokio_util::compat`, and the TLS stream comes back out as a
/// `futures-io` one the same way. No tokio runtime runs: solo drives it all.
pub async fn round_trip_tokio_rustls(
    client: Arc<ClientConfig>,
    addr: SocketAddr,
    msg: &[u8],
) -> io::Result<Vec<u8>> {
    use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

    let name = ServerName::try_from(SERVER_NAME).map_err(io::Error::other)?;
    let stream = TcpStream::connect(addr).await?;
    // futures-io -> tokio's AsyncRead/AsyncWrite.
    let tls = tokio_rustls::TlsConnector::from(client)
        .connect(name, stream.compat())
        .await?;
    // tokio's -> futures-io, for solo's AsyncReadExt/AsyncWriteExt.
    let mut tls = tls.compat();
    tls.write_all(msg).await?;
    tls.flush().await?;
    let mut back = vec![0; msg.len()];
    tls.read_exact(&mut back).await?;
    tls.close().await?;
    Ok(back)
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7443".into());
    let tls = Tls::self_signed()?;
    solo::block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        let addr = listener.local_addr()?;
        println!(
            "TLS echo on {addr}, certificate for {SERVER_NAME:?}:\n{}\
             save it as cert.pem and try: openssl s_client -connect {addr} -CAfile cert.pem",
            tls.cert_pem
        );
        serve(listener, tls.server).await
    })
}
