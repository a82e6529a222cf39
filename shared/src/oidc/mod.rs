//! The backend as an OpenID Provider: login services federate silent verification by
//! configuration (discovery, the authorization code flow with PKCE, an ID token with a pairwise
//! `sub`, UserInfo).
//!
//! - [`clients`]: the registry of relying parties (RFC 7591 names).
//! - [`authorize`]: the authorization request, checked.
//! - [`subject`]: pairwise `sub`s.
//! - [`grant`]: the code and the access token, on the verification's record.
//! - [`id_token`]: the signed ID token.

pub mod authorize;
pub mod clients;
pub mod grant;
pub mod id_token;
pub mod subject;
