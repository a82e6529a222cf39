//! What each CAMARA answer records, in one table. Infobip's CAMARA endpoints name their errors
//! (`SERVICE_NOT_APPLICABLE`, OAuth's `access_denied`) where SMV numbers them, so a CAMARA
//! verification that ends without a verdict is ERROR with an id of ours, from 9000 up (Infobip's
//! own ids stop at 1000): an app and the fallback read one kind of error object whatever the
//! method. Every one of them is "no evidence" (it says nothing of who holds the number), so each
//! may fall back to a PIN where fallback is on; a verdict is VALID or INVALID.

use crate::infobip::camara::{NoEvidence, NumberVerdict};
use crate::verification::{ErrorInfo, VerificationResult};

/// `(id, name, description)` of every CAMARA outcome that is not a verdict.
pub const CAMARA_ERRORS: &[(i32, &str, &str)] = &[
    (
        9001,
        "CAMARA_ACCESS_DENIED",
        "The operator did not recognise this device on its network (Wi-Fi, a VPN, or the subscriber declined).",
    ),
    (
        9002,
        "CAMARA_CONSENT_REQUIRED",
        "The subscriber's consent is needed and was not given.",
    ),
    (
        9003,
        "CAMARA_OPERATOR_UNAVAILABLE",
        "The operator could not complete the check.",
    ),
    (
        9004,
        "CAMARA_AUTHORIZE_REFUSED",
        "The operator refused the authorization request (check CAMARA_CLIENT_ID and the redirect URL registered with Infobip).",
    ),
    (
        9010,
        "CAMARA_INVALID_ARGUMENT",
        "Infobip did not accept the code or the number.",
    ),
    (
        9011,
        "CAMARA_CODE_UNKNOWN",
        "Infobip does not know the operator's code (used, expired or made up).",
    ),
    (
        9012,
        "CAMARA_CONFLICT",
        "Another verification of this number is under way.",
    ),
    (
        9013,
        "CAMARA_SERVICE_NOT_APPLICABLE",
        "The operator does not offer this check for the number.",
    ),
    (
        9014,
        "CAMARA_NO_CARRIER",
        "None of this device's SIMs can be asked.",
    ),
];

fn error(id: i32) -> VerificationResult {
    let (id, name, description) = CAMARA_ERRORS
        .iter()
        .find(|(known, _, _)| *known == id)
        .copied()
        .expect("only ids of the table are asked for");
    VerificationResult::Error(Some(ErrorInfo {
        id,
        name: name.to_owned(),
        description: description.to_owned(),
    }))
}

/// What Infobip's verify answer records.
pub fn of_verdict(verdict: NumberVerdict) -> VerificationResult {
    match verdict {
        NumberVerdict::Verified => VerificationResult::Valid,
        NumberVerdict::NotVerified => VerificationResult::Invalid,
        NumberVerdict::NoEvidence(why) => error(match why {
            NoEvidence::InvalidArgument => 9010,
            NoEvidence::UnknownCorrelator => 9011,
            NoEvidence::Conflict => 9012,
            NoEvidence::NotApplicable => 9013,
            NoEvidence::NoCarrier => 9014,
        }),
    }
}

/// What an OAuth `error` on the way back from the operator records (RFC 6749 §4.1.2.1 and
/// OpenID Connect's codes, as Infobip lists them; any other is the operator refusing us).
pub fn of_authorize_error(code: &str) -> VerificationResult {
    error(match code {
        "access_denied" => 9001,
        "consent_required" | "interaction_required" | "login_required" => 9002,
        "server_error" | "temporarily_unavailable" => 9003,
        _ => 9004,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_in_the_table_and_no_evidence() {
        for (id, _, _) in CAMARA_ERRORS.iter().copied() {
            assert!(crate::fallback::NO_EVIDENCE_ERRORS.contains(&id), "{id}");
            assert!(id >= 9000, "ours, apart from Infobip's ids");
        }
    }

    #[test]
    fn verdicts_are_results_and_the_rest_named_errors() {
        assert_eq!(
            of_verdict(NumberVerdict::Verified),
            VerificationResult::Valid
        );
        assert_eq!(
            of_verdict(NumberVerdict::NotVerified),
            VerificationResult::Invalid
        );
        let name = |r: VerificationResult| r.error().unwrap().name.clone();
        assert_eq!(
            name(of_verdict(NumberVerdict::NoEvidence(
                NoEvidence::NotApplicable
            ))),
            "CAMARA_SERVICE_NOT_APPLICABLE"
        );
        assert_eq!(
            name(of_verdict(NumberVerdict::NoEvidence(NoEvidence::Conflict))),
            "CAMARA_CONFLICT"
        );
        assert_eq!(
            name(of_authorize_error("access_denied")),
            "CAMARA_ACCESS_DENIED"
        );
        assert_eq!(
            name(of_authorize_error("consent_required")),
            "CAMARA_CONSENT_REQUIRED"
        );
        assert_eq!(
            name(of_authorize_error("temporarily_unavailable")),
            "CAMARA_OPERATOR_UNAVAILABLE"
        );
        for refusal in [
            "invalid_request",
            "unauthorized_client",
            "invalid_scope",
            "made_up",
        ] {
            assert_eq!(
                name(of_authorize_error(refusal)),
                "CAMARA_AUTHORIZE_REFUSED"
            );
        }
    }
}
