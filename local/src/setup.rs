//! `smv-local infobip-setup`: the one-time creation of the 2FA application and message template
//! the PIN fallback sends with, on a real account (or the simulator), with a key that has
//! `2fa:manage` (not the backend's own key, which needs only `2fa:pin:send`).

use smv_shared::fallback::{PIN_LIFETIME, TWOFA_PIN_ATTEMPTS};
use std::sync::Arc;
use std::time::Duration;

use smv_shared::infobip::twofa::Setup;
use smv_shared::infobip::types::{ApplicationConfiguration, ApplicationRequest, MessageRequest};
use smv_shared::infobip::{ApiKey, InfobipError, Transport, TwoFactorClient};
use smv_shared::keys::Rotating;
use smv_shared::time::SystemClock;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupOptions {
    pub base_url: Url,
    pub name: String,
    pub brand: String,
    /// PINs per day for the whole application: the spend cap at Infobip.
    pub daily_budget: u32,
    /// PINs per day for one number.
    pub per_number_per_day: u32,
    pub sender_id: Option<String>,
}

pub async fn run(options: &SetupOptions, admin_key: &ApiKey) -> Result<Setup, InfobipError> {
    let transport = Transport::new(
        &options.base_url,
        Arc::new(Rotating::fixed(admin_key.clone())),
        Arc::new(SystemClock),
        Arc::new(smv_shared::metrics::Discard),
        Duration::from_secs(5),
        Duration::from_secs(15),
    )
    .map_err(|e| InfobipError::Unreachable(e.into()))?;
    let application_limit = format!("{}/1d", options.daily_budget);
    let per_number_limit = format!("{}/1d", options.per_number_per_day);
    let pin_time_to_live = format!("{}m", PIN_LIFETIME.as_secs() / 60);
    let application = ApplicationRequest {
        name: &options.name,
        enabled: true,
        configuration: ApplicationConfiguration {
            pin_attempts: TWOFA_PIN_ATTEMPTS,
            allow_multiple_pin_verifications: false,
            pin_time_to_live: &pin_time_to_live,
            verify_pin_limit: "1/3s",
            send_pin_per_application_limit: &application_limit,
            send_pin_per_phone_number_limit: &per_number_limit,
        },
    };
    let text = message_text(&options.brand);
    let message = MessageRequest {
        message_text: &text,
        pin_type: "NUMERIC",
        pin_length: 6,
        sender_id: options.sender_id.as_deref(),
    };
    TwoFactorClient::set_up(&transport, &application, &message).await
}

/// Names the brand, and tells the reader never to share the code: the one line that stops a
/// caller who pretends to be the brand.
pub fn message_text(brand: &str) -> String {
    format!("{{{{pin}}}} is your {brand} verification code. Never share it with anyone, not even {brand} staff.")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_message_names_the_brand_and_says_not_to_share() {
        let text = super::message_text("Acme");
        assert!(text.starts_with("{{pin}} is your Acme verification code."));
        assert!(text.contains("Never share it"));
    }
}
