//! `smv-local`: the backend on a laptop. The Lambda handlers behind a local HTTP server
//! ([`server`]), a stand-in for Infobip and the operator ([`simulator`]), and a stand-in for the
//! mobile app ([`device`]), and hundreds of them at once ([`load`]); [`test_numbers`] is what
//! each test number does, for all of them. [`settings`] chooses the
//! store and the Infobip in use; [`oidc_client`] makes relying parties for the OpenID Provider.

pub mod camara_sim;
pub mod device;
pub mod load;
pub mod oidc_client;
pub mod pin_desk;
pub mod server;
pub mod settings;
pub mod setup;
pub mod simulator;
pub mod test_numbers;
