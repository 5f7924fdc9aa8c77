//! The one HTTP client of the process (DESIGN.md §1, §3, §4): reqwest over rustls with the ring provider
//! only, trusting the webpki roots plus THOTH_TLS_CA_BUNDLE, checking THOTH_TLS_PINNED_CERT_SHA256 after the
//! chain (`verify`), with connect and total timeouts. It owns transport and trust, not what is sent: callers
//! (the enforcer, GovAPI) build their requests on `NetClient::http`. Files are read once, at construction.

pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::hint::Hint;
use crate::settings::{validate, Settings, Source};

/// `user-agent` of every request.
pub const USER_AGENT: &str = concat!("thoth/", env!("CARGO_PKG_VERSION"));
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
/// THOTH_TLS_PIN_CACHE_SECONDS when unset.
pub const PIN_CACHE_SECONDS: u64 = 300;
/// An idle pooled connection is kept this long (the warm-up connection must outlive the first call).
pub const POOL_IDLE: Duration = Duration::from_secs(90);

/// The client could not be built from the settings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read the CA bundle {} (THOTH_TLS_CA_BUNDLE): {source}", path.display())]
    CaBundleRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CA bundle {} (THOTH_TLS_CA_BUNDLE) is not valid: {reason}", path.display())]
    CaBundle { path: PathBuf, reason: String },
    #[error(
        "THOTH_TLS_REQUIRE_AWS_BACKED_CERTS is true but {} not set",
        names(missing)
    )]
    AwsArnsMissing { missing: Vec<&'static str> },
    #[error("{name} = {value:?} is not valid: expected {expected}")]
    Setting {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("the enforcer URL {url} is not valid: {reason}")]
    Url { url: String, reason: String },
    #[error("the enforcer credential ({origin}) cannot be sent in an HTTP header: it holds characters headers do not allow")]
    Credential { origin: Source },
    #[error("the TLS configuration could not be built: {0}")]
    Tls(rustls::Error),
    #[error("the HTTP client could not be built: {0}")]
    Client(reqwest::Error),
}

fn names(missing: &[&'static str]) -> String {
    match missing {
        [one] => format!("{one} is"),
        _ => format!("{} are", missing.join(" and ")),
    }
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::CaBundleRead { .. } => "point THOTH_TLS_CA_BUNDLE at a readable PEM file, or unset it".into(),
            Error::CaBundle { .. } => "THOTH_TLS_CA_BUNDLE must name a PEM file of one or more `-----BEGIN CERTIFICATE-----` CA certificates".into(),
            Error::AwsArnsMissing { missing } => format!(
                "set {} (or set THOTH_TLS_REQUIRE_AWS_BACKED_CERTS=false)",
                missing.join(" and ")
            ),
            Error::Setting { name, .. } => format!("fix or remove {name}"),
            Error::Url { .. } => "set THOTH_ENFORCER_URL to an https:// URL (or THOTH_TENANT_ID and THOTH_APEX_DOMAIN)".into(),
            Error::Credential { origin } => format!("the credential from {origin} looks damaged: set it again (`thoth set-api-key`), without spaces or line breaks"),
            Error::Tls(_) | Error::Client(_) => return None,
        })
    }
}

/// Connect, total and read-stall timeouts of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From sending the request to the end of the response body.
    pub total: Duration,
    /// Longest wait for the next byte (answer headers or body) once connected; none: only `total` bounds it.
    pub stall: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: CONNECT_TIMEOUT,
            total: TOTAL_TIMEOUT,
            stall: None,
        }
    }
}

/// THOTH_TLS_REQUIRE_AWS_BACKED_CERTS with its two ARNs, recorded for registration and `doctor`.
///
/// thoth does not verify them: proving that a server certificate is issued by ACM or an AWS Private CA needs
/// AWS API calls (ACM DescribeCertificate / ACM-PCA) with AWS credentials thoth does not hold. Pin the leaf
/// (THOTH_TLS_PINNED_CERT_SHA256) or trust only the private CA (THOTH_TLS_CA_BUNDLE) to enforce it on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsBacking {
    pub acm_cert_arn: String,
    pub private_ca_arn: String,
}

/// The process's HTTP client (cheap to clone: the connection pool is shared).
#[derive(Debug, Clone)]
pub struct NetClient {
    http: reqwest::Client,
    timeouts: Timeouts,
    aws: Option<AwsBacking>,
}

/// The client for `settings`, with the default timeouts.
pub fn client(settings: &Settings) -> Result<NetClient, Error> {
    NetClient::new(settings, Timeouts::default())
}

impl NetClient {
    /// Build the client: reads THOTH_TLS_CA_BUNDLE (blocking; call before the event loop or in
    /// `spawn_blocking`). Proxies from the environment are not used: only `settings` configure thoth.
    pub fn new(settings: &Settings, timeouts: Timeouts) -> Result<NetClient, Error> {
        let aws = aws_backing(settings)?;
        let tls = tls_config(settings)?;
        let mut builder = reqwest::Client::builder();
        if let Some(stall) = timeouts.stall {
            builder = builder.read_timeout(stall);
        }
        let http = builder
            .use_preconfigured_tls(tls)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(Error::Client)?;
        Ok(NetClient {
            http,
            timeouts,
            aws,
        })
    }

    /// The pooled client to build requests on.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The AWS-backed certificate requirement, when THOTH_TLS_REQUIRE_AWS_BACKED_CERTS is true.
    pub fn aws_backing(&self) -> Option<&AwsBacking> {
        self.aws.as_ref()
    }

    /// Open a pooled connection to `url`'s server (a HEAD request; its status is ignored) so the first real
    /// call pays no TCP or TLS handshake. Failures are logged, never returned: the real call reports them.
    pub async fn warm(&self, url: &str) {
        match self.http.head(url).send().await {
            Ok(response) => {
                tracing::debug!(
                    url,
                    status = response.status().as_u16(),
                    "connection warmed up"
                )
            }
            Err(err) => {
                tracing::warn!(url, error = %describe(&err), "could not open a connection ahead of the first call")
            }
        }
    }
}

/// A request error in one line: what failed, and the innermost cause (a TLS or socket error).
pub fn describe(err: &reqwest::Error) -> String {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the response body could not be read"
    } else {
        "the request failed"
    };
    let url = err.url().map(|u| format!(" to {u}")).unwrap_or_default();
    if let Some(tls) = tls_error(err) {
        return match tls {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
                format!("{what}{url}: invalid peer certificate: {}", other.0)
            }
            other => format!("{what}{url}: {other}"),
        };
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if std::ptr::addr_eq(cause, err as &dyn std::error::Error) {
        format!("{what}{url}")
    } else {
        format!("{what}{url}: {cause}")
    }
}

/// The TLS error behind a request error, if any (it travels inside nested `io::Error`s, whose `source` skips
/// the error they wrap: follow `get_ref` for those).
fn tls_error(err: &reqwest::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

fn setting_bool(settings: &Settings, name: &'static str) -> Result<bool, Error> {
    settings.get(name).map_or(Ok(false), |v| {
        validate::boolean(&v.value).map_err(|expected| Error::Setting {
            name,
            value: v.value.clone(),
            expected,
        })
    })
}

fn aws_backing(settings: &Settings) -> Result<Option<AwsBacking>, Error> {
    if !setting_bool(settings, "THOTH_TLS_REQUIRE_AWS_BACKED_CERTS")? {
        return Ok(None);
    }
    let arn = |name| {
        settings
            .get(name)
            .map(|v| v.value.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let acm = arn("THOTH_TLS_AWS_ACM_CERT_ARN");
    let pca = arn("THOTH_TLS_AWS_PRIVATE_CA_ARN");
    match (acm, pca) {
        (Some(acm_cert_arn), Some(private_ca_arn)) => {
            tracing::info!(%acm_cert_arn, %private_ca_arn, "AWS-backed certificates are required (recorded; thoth cannot check them itself: pin the leaf or trust only the private CA)");
            Ok(Some(AwsBacking {
                acm_cert_arn,
                private_ca_arn,
            }))
        }
        (acm, pca) => Err(Error::AwsArnsMissing {
            missing: [
                (acm.is_none(), "THOTH_TLS_AWS_ACM_CERT_ARN"),
                (pca.is_none(), "THOTH_TLS_AWS_PRIVATE_CA_ARN"),
            ]
            .into_iter()
            .filter_map(|(missing, name)| missing.then_some(name))
            .collect(),
        }),
    }
}

fn pin_cache_time(settings: &Settings) -> Result<Duration, Error> {
    let name = "THOTH_TLS_PIN_CACHE_SECONDS";
    let seconds = match settings.get(name) {
        None => PIN_CACHE_SECONDS,
        Some(v) => validate::seconds(&v.value).map_err(|expected| Error::Setting {
            name,
            value: v.value.clone(),
            expected,
        })?,
    };
    Ok(Duration::from_secs(seconds))
}

/// The webpki roots plus every certificate of THOTH_TLS_CA_BUNDLE.
fn roots(settings: &Settings) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let Some(bundle) = settings.get("THOTH_TLS_CA_BUNDLE") else {
        return Ok(roots);
    };
    let path = PathBuf::from(&bundle.value);
    let pem = std::fs::read(&path).map_err(|source| Error::CaBundleRead {
        path: path.clone(),
        source,
    })?;
    let invalid = |reason: String| Error::CaBundle {
        path: path.clone(),
        reason,
    };
    let mut added = 0usize;
    for (index, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| invalid(format!("PEM section {}: {e}", index + 1)))?;
        roots
            .add(cert)
            .map_err(|e| invalid(format!("certificate {}: {e}", index + 1)))?;
        added += 1;
    }
    if added == 0 {
        return Err(invalid("it holds no PEM certificate".into()));
    }
    tracing::debug!(path = %path.display(), certificates = added, "trusting the CA bundle");
    Ok(roots)
}

fn tls_config(settings: &Settings) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = if settings.tls_verify.value {
        let verifier = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots(settings)?),
            provider.clone(),
        )
        .build()
        .map_err(|e| Error::Tls(rustls::Error::General(e.to_string())))?;
        Some(verifier)
    } else {
        tracing::warn!(
            source = %settings.tls_verify.source,
            "THOTH_TLS_VERIFY=false: server certificates are NOT verified; anyone on the network path can \
             impersonate the enforcer. Never use this outside THOTH_ENV=dev"
        );
        None
    };
    let verifier = verify::PinnedVerifier::new(
        chain,
        settings.tls_pins.clone(),
        pin_cache_time(settings)?,
        provider.signature_verification_algorithms,
    );
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests;
