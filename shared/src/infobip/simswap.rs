//! `POST /mi/simswap/1/check`: whether the number's SIM changed within a period. Where the
//! operator is not covered Infobip answers 400 `EC_NO_COVERAGE`: that, and a `null`, are an
//! unknown answer, which the caller's policy decides.

use async_trait::async_trait;
use reqwest::StatusCode;
use url::Url;

use super::transport::Transport;
use super::types::{SimSwapCheckRequest, SimSwapCheckResponse};
use super::{InfobipError, SimSwap, SimSwapChecker};
use crate::phone::PhoneNumber;

const CHECK_PATH: &str = "mi/simswap/1/check";

#[derive(Debug, Clone)]
pub struct SimSwapClient {
    transport: Transport,
    check_url: Url,
}

impl SimSwapClient {
    pub fn new(transport: Transport) -> Self {
        Self {
            check_url: transport.endpoint(CHECK_PATH),
            transport,
        }
    }
}

#[async_trait]
impl SimSwapChecker for SimSwapClient {
    async fn check(&self, phone: &PhoneNumber, period_hours: u32) -> Result<SimSwap, InfobipError> {
        let request = SimSwapCheckRequest {
            phone_number: phone.international_digits(),
            consent_granted: true,
            period: period_hours,
        };
        let answer = self.transport.post_json(&self.check_url, &request).await?;
        let http_status = answer.status.as_u16();
        match answer.status {
            StatusCode::OK => {
                let checked: SimSwapCheckResponse =
                    serde_json::from_slice(&answer.body).map_err(|e| {
                        InfobipError::UnexpectedAnswer {
                            http_status,
                            detail: format!("body is not the documented JSON ({e})"),
                        }
                    })?;
                Ok(match checked.sim_swap_occurred {
                    Some(true) => SimSwap::Swapped,
                    Some(false) => SimSwap::NotSwapped,
                    None => SimSwap::Unknown,
                })
            }
            status if status.is_server_error() => Err(InfobipError::Unavailable { http_status }),
            // No coverage (EC_NO_COVERAGE) and other refusals of this number: nobody can say.
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Ok(SimSwap::Unknown),
            _ => Err(InfobipError::UnexpectedAnswer {
                http_status,
                detail: "not a documented answer".into(),
            }),
        }
    }
}
