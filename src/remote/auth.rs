//! The hook through which a 401 is answered: the bridge asks an `Authorizer` for an `Authorization` header
//! value and retries with it. `NoAuth` has none (static `--header`s only); `oauth::for_run` gives OAuth 2.1
//! (`remote::oauth`), without the bridge knowing how the token was obtained.

use std::future::Future;
use std::pin::Pin;

/// What the server said when it refused the request.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The server URL as given to `--url`.
    pub url: String,
    /// The `Authorization` value the refused request carried (None: none was sent). An authorizer tells a
    /// refused token (refresh it) from one already replaced by a concurrent request's 401 (use the new one).
    pub sent: Option<String>,
    /// The 401's `WWW-Authenticate` header values, as sent (may name `resource_metadata=...`).
    pub www_authenticate: Vec<String>,
}

/// Why no credential could be had; shown in initialize's error with the URL.
#[derive(Debug, Clone)]
pub struct AuthError {
    pub message: String,
    /// What the user should do (e.g. "run `thoth auth login --url ...`").
    pub hint: Option<String>,
}

pub type AuthFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, AuthError>> + Send + 'a>>;

/// Obtains the `Authorization` header value (e.g. `Bearer abc`) after a 401. `Ok(None)`: this authorizer has
/// nothing to offer (the 401 is reported as is). Called again on a later 401 (an expired token): refresh then.
pub trait Authorizer: Send + Sync {
    fn on_unauthorized<'a>(&'a self, challenge: &'a Challenge) -> AuthFuture<'a>;
}

/// No credentials besides the static headers.
pub struct NoAuth;

impl Authorizer for NoAuth {
    fn on_unauthorized<'a>(&'a self, _challenge: &'a Challenge) -> AuthFuture<'a> {
        Box::pin(async { Ok(None) })
    }
}
