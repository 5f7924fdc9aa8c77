//! `thoth auth` (also `thothctl auth`): the command line of SSO sign-in. Parsing only (STYLE.md §3).

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub command: AuthCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in with SSO and save the tenant's session to ~/.thoth/sessions (a browser sign-in by default,
    /// `--device` for a machine without one).
    Login(LoginArgs),
    /// Show the saved session: who, tenant, expiry, whether it can be refreshed. Exits 1 when it is missing
    /// or expired (status never refreshes).
    Status(StatusArgs),
    /// Revoke the saved session at the issuer (when it allows) and delete it.
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The Thoth tenant id (THOTH_TENANT_ID; a managed value wins).
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,
    /// Your email, sent to the identity provider as `login_hint` (default THOTH_USER_ID).
    #[arg(long, value_name = "EMAIL")]
    pub admin_email: Option<String>,
    /// The OAuth issuer (THOTH_AUTH_ISSUER; default the GovAPI URL; a managed value wins).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Use the device authorization grant: enter a code on another device (no browser here).
    #[arg(long)]
    pub device: bool,
    /// Do not open a browser; only print the sign-in URL on stderr.
    #[arg(long)]
    pub no_browser: bool,
    /// Print the new session's status as JSON (schemas/auth-status.schema.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON (schemas/auth-status.schema.json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {}
