//! Infobip's Mobile Identity error codes (`reference/infobip-mobile-identity-error-codes.yml`).
//! Used to fill in a name or description that an answer leaves out; matching is always on the id.

pub struct KnownError {
    pub id: i32,
    pub name: &'static str,
    pub description: &'static str,
}

#[rustfmt::skip]
const CODES: &[KnownError] = &[
    KnownError { id: 100, name: "EC_NO_COVERAGE", description: "No coverage for requested phone number." },
    KnownError { id: 101, name: "EC_GATEWAY_OPERATION_FAILED", description: "Provider service failed." },
    KnownError { id: 102, name: "EC_OPERATION_RESTRICTED", description: "Operation restricted." },
    KnownError { id: 200, name: "EC_INVALID_REQUEST", description: "Validation failed for requested arguments." },
    KnownError { id: 201, name: "EC_INVALID_TOKEN", description: "The token is invalid or does not exist." },
    KnownError { id: 202, name: "EC_CONSENT_NOT_GRANTED", description: "User consent not granted." },
    KnownError { id: 300, name: "EC_MI_ACCOUNT_DISABLED", description: "User account is disabled for Mobile Identity service. Contact Support to enable it." },
    KnownError { id: 301, name: "EC_OPERATION_NOT_ALLOWED", description: "Service is not allowed for this account. Contact Support to enable it." },
    KnownError { id: 302, name: "EC_COUNTRY_NOT_ALLOWED", description: "Destination country is not allowed for this account. Contact Support to enable it." },
    KnownError { id: 303, name: "EC_GATEWAY_NOT_ALLOWED", description: "Provider is not allowed for this account. Contact Support to enable it." },
    KnownError { id: 304, name: "EC_REJECTED_NOT_ENOUGH_CREDITS", description: "Not enough credits for this service." },
    KnownError { id: 305, name: "EC_MOBILE_DEVICE_TIMEOUT", description: "Timeout occurred during a mobile device redirect." },
    KnownError { id: 306, name: "EC_REJECTED_INVALID_IP_ADDRESS", description: "IP address not in MNO data range." },
    KnownError { id: 307, name: "EC_OTP_SMS_SEND_FAILED", description: "Failed to send an SMS message." },
    KnownError { id: 308, name: "EC_NI_ATTRIBUTE_NOT_ALLOWED", description: "Requested Number Intelligence attribute is not allowed for this account. Contact Support to enable it." },
    KnownError { id: 309, name: "EC_SIM_SWAP_CHECK_FAILED", description: "Failed to execute SIM Swap check request due to an error on the MNO side. Contact Support for more details." },
    KnownError { id: 310, name: "EC_SIM_SWAP_DETECTED", description: "No coverage for the requested phone number." },
    KnownError { id: 400, name: "EC_UNPROCESSABLE_CONTENT", description: "Unable to process provided data." },
    KnownError { id: 1000, name: "EC_USER_INTERNAL_ERROR", description: "Internal error on the platform. Contact Support to resolve the issue." },
];

pub fn known_error(id: i32) -> Option<&'static KnownError> {
    CODES.iter().find(|code| code.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_reference_list() {
        let reference = include_str!("../../../reference/infobip-mobile-identity-error-codes.yml");
        let ids: Vec<i32> = reference
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- id: "))
            .map(|id| id.parse().unwrap())
            .collect();
        assert_eq!(ids, CODES.iter().map(|c| c.id).collect::<Vec<_>>());
        for code in CODES {
            assert!(
                reference.contains(&format!("name: {}", code.name)),
                "{}",
                code.name
            );
            assert!(reference.contains(code.description), "{}", code.description);
        }
    }

    #[test]
    fn looks_up_by_id() {
        assert_eq!(known_error(305).unwrap().name, "EC_MOBILE_DEVICE_TIMEOUT");
        assert!(known_error(999).is_none());
    }
}
