//! The simulator's test numbers, in one table: what silent verification answers, what the
//! SIM-swap check says, whether a PIN reaches the number, what a poll finally shows, and the
//! line the start-up banner prints. The simulator, its PIN desk, the load tool and the banner
//! all read it. Any other valid number verifies as VALID; any `+55` number takes the Brazilian
//! OK flow.
//!
//! CAMARA has its own table, [`CAMARA_NUMBERS`]: German numbers, because `smv-local` verifies
//! Germany by CAMARA (`VERIFY_METHODS=DE:camara,*:smv`, SIM-based allowed there too). Any other
//! German number verifies as VALID.

/// What Infobip's verify call (and then its callback) does for a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Valid,
    Invalid,
    DeviceTimeout,
    WrongNetwork,
    NoCallback,
    /// Brazil: status OK, and the callback is delivered before the verify call is answered.
    BrazilOk,
    RefusedNoCoverage,
    RefusedUnprocessable,
    Unauthorized,
    RateLimited,
    InternalError,
    Unavailable,
    Hang,
}

/// What the SIM-swap check answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimSwapAnswer {
    NotSwapped,
    Swapped,
    /// 400 EC_NO_COVERAGE: the operator is not covered.
    NoCoverage,
}

/// Whether 2FA can deliver a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinSend {
    Delivered,
    /// 200 with `MESSAGE_NOT_SENT`.
    NotSent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestNumber {
    pub number: &'static str,
    pub silent: Scenario,
    pub sim_swap: SimSwapAnswer,
    pub pin_send: PinSend,
    /// What a poll shows at last (status, Infobip error id), for the load tool's mix; `None`:
    /// not in the mix.
    pub settles_as: Option<(&'static str, Option<i64>)>,
    /// The banner's line.
    pub what: &'static str,
}

const fn plain(number: &'static str, silent: Scenario, what: &'static str) -> TestNumber {
    TestNumber {
        number,
        silent,
        sim_swap: SimSwapAnswer::NotSwapped,
        pin_send: PinSend::Delivered,
        settles_as: None,
        what,
    }
}

const fn settling(mut n: TestNumber, status: &'static str, error: Option<i64>) -> TestNumber {
    n.settles_as = Some((status, error));
    n
}

const fn swap(mut n: TestNumber, sim_swap: SimSwapAnswer) -> TestNumber {
    n.sim_swap = sim_swap;
    n
}

const fn pin(mut n: TestNumber, pin_send: PinSend) -> TestNumber {
    n.pin_send = pin_send;
    n
}

use Scenario::*;

pub const TEST_NUMBERS: &[TestNumber] = &[
    settling(
        plain(
            "+447911000001",
            Valid,
            "VALID after the device follows the redirect",
        ),
        "VALID",
        None,
    ),
    settling(
        plain(
            "+447911000002",
            Invalid,
            "INVALID: the number is not the device's",
        ),
        "INVALID",
        None,
    ),
    settling(
        plain(
            "+447911000305",
            DeviceTimeout,
            "ERROR 305 EC_MOBILE_DEVICE_TIMEOUT",
        ),
        "ERROR",
        Some(305),
    ),
    settling(
        plain(
            "+447911000306",
            WrongNetwork,
            "ERROR 306 EC_REJECTED_INVALID_IP_ADDRESS",
        ),
        "ERROR",
        Some(306),
    ),
    swap(
        plain(
            "+447911000307",
            WrongNetwork,
            "ERROR 306, then the SIM-swap check finds a recent swap: no PIN fallback",
        ),
        SimSwapAnswer::Swapped,
    ),
    swap(
        plain(
            "+447911000308",
            WrongNetwork,
            "ERROR 306, then the SIM-swap check has no coverage (SIM_SWAP_ON_UNKNOWN decides)",
        ),
        SimSwapAnswer::NoCoverage,
    ),
    swap(
        settling(
            plain(
                "+447911000309",
                Valid,
                "VALID, but the SIM was swapped: the redeem is refused (sim-swap-detected)",
            ),
            "VALID",
            None,
        ),
        SimSwapAnswer::Swapped,
    ),
    swap(
        settling(
            plain(
                "+447911000310",
                Valid,
                "VALID, no SIM-swap coverage: SIM_SWAP_ON_UNKNOWN decides the redeem",
            ),
            "VALID",
            None,
        ),
        SimSwapAnswer::NoCoverage,
    ),
    pin(
        plain(
            "+447911000311",
            WrongNetwork,
            "ERROR 306, then 2FA cannot send the PIN (MESSAGE_NOT_SENT)",
        ),
        PinSend::NotSent,
    ),
    settling(
        plain(
            "+447911000404",
            NoCallback,
            "no callback ever: the app sees EXPIRED",
        ),
        "EXPIRED",
        None,
    ),
    settling(
        plain(
            "+5511987654321",
            BrazilOk,
            "Brazil: status OK, no redirect, callback VALID at once",
        ),
        "VALID",
        None,
    ),
    plain(
        "+447911000400",
        RefusedNoCoverage,
        "400 ERROR 100 EC_NO_COVERAGE (answer: 422)",
    ),
    plain(
        "+447911000422",
        RefusedUnprocessable,
        "422 ERROR 400 EC_UNPROCESSABLE_CONTENT (answer: 422)",
    ),
    plain(
        "+447911000401",
        Unauthorized,
        "401 bad credentials (answer: 502)",
    ),
    plain(
        "+447911000429",
        RateLimited,
        "429 rate limited, Retry-After: 3 (answer: 503)",
    ),
    plain(
        "+447911000500",
        InternalError,
        "500 ERROR 1000 (answer: 502)",
    ),
    plain(
        "+447911000503",
        Unavailable,
        "503 HTML error page (answer: 503)",
    ),
    plain("+447911000504", Hang, "never answers in time (answer: 504)"),
];

const ANY_OTHER: TestNumber = plain("", Valid, "VALID");
const ANY_BRAZILIAN: TestNumber = plain("", BrazilOk, "Brazil");

/// The behaviour of the number with these international digits (no `+`).
pub fn test_number(digits: &str) -> TestNumber {
    let listed = TEST_NUMBERS
        .iter()
        .find(|n| n.number.trim_start_matches('+') == digits);
    match listed {
        Some(number) => *number,
        None if digits.starts_with("55") => ANY_BRAZILIAN,
        None => ANY_OTHER,
    }
}

/// The load tool's mix: (number, final status, Infobip error id) for the numbers whose final
/// poll is known, in the table's order.
pub fn load_mix() -> impl Iterator<Item = (&'static str, &'static str, Option<i64>)> {
    TEST_NUMBERS.iter().filter_map(|n| {
        n.settles_as
            .map(|(status, error)| (n.number, status, error))
    })
}

/// What CAMARA does for a number: at the authorize step (the operator's answer), at `/verify`
/// or `/v2/verify`, or at `/dcql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CamaraScenario {
    Verified,
    NotVerified,
    /// The operator sends the device back with `error=...`.
    AuthorizeError(&'static str),
    /// `/verify` answers this status and CAMARA code.
    VerifyError(u16, &'static str),
    /// `/dcql` resolves none of the device's carriers.
    NoCarrier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CamaraNumber {
    pub number: &'static str,
    pub scenario: CamaraScenario,
    pub what: &'static str,
}

const fn camara(
    number: &'static str,
    scenario: CamaraScenario,
    what: &'static str,
) -> CamaraNumber {
    CamaraNumber {
        number,
        scenario,
        what,
    }
}

/// The number `smv-local demo --method camara|sim` verifies unless given one.
pub const CAMARA_DEMO_NUMBER: &str = "+4915100000001";

pub const CAMARA_NUMBERS: &[CamaraNumber] = &[
    camara(CAMARA_DEMO_NUMBER, CamaraScenario::Verified, "VALID"),
    camara(
        "+4915100000002",
        CamaraScenario::NotVerified,
        "INVALID: the operator says the number is not the device's",
    ),
    camara(
        "+4915100009001",
        CamaraScenario::AuthorizeError("access_denied"),
        "authorize: access_denied (ERROR 9001 CAMARA_ACCESS_DENIED)",
    ),
    camara(
        "+4915100009002",
        CamaraScenario::AuthorizeError("consent_required"),
        "authorize: consent_required (ERROR 9002)",
    ),
    camara(
        "+4915100009003",
        CamaraScenario::AuthorizeError("server_error"),
        "authorize: server_error (ERROR 9003)",
    ),
    camara(
        "+4915100009004",
        CamaraScenario::AuthorizeError("unauthorized_client"),
        "authorize: unauthorized_client (ERROR 9004)",
    ),
    camara(
        "+4915100009010",
        CamaraScenario::VerifyError(400, "INVALID_ARGUMENT"),
        "verify: 400 INVALID_ARGUMENT (ERROR 9010)",
    ),
    camara(
        "+4915100009011",
        CamaraScenario::VerifyError(404, "NOT_FOUND"),
        "verify: 404 NOT_FOUND (ERROR 9011)",
    ),
    camara(
        "+4915100009012",
        CamaraScenario::VerifyError(409, "CONFLICT"),
        "verify: 409 CONFLICT (ERROR 9012)",
    ),
    camara(
        "+4915100009013",
        CamaraScenario::VerifyError(422, "SERVICE_NOT_APPLICABLE"),
        "verify: 422 SERVICE_NOT_APPLICABLE (ERROR 9013)",
    ),
    camara(
        "+4915100009014",
        CamaraScenario::NoCarrier,
        "SIM-based: /dcql resolves no carrier (ERROR 9014, no credential request)",
    ),
    camara(
        "+4915100009500",
        CamaraScenario::VerifyError(500, "INTERNAL"),
        "verify: 500 (the return answers 503; the verification stays PENDING)",
    ),
];

/// What CAMARA does for the number with these international digits (no `+`).
pub fn camara_number(digits: &str) -> CamaraScenario {
    CAMARA_NUMBERS
        .iter()
        .find(|n| n.number.trim_start_matches('+') == digits)
        .map_or(CamaraScenario::Verified, |n| n.scenario)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smv_shared::phone::PhoneNumber;

    #[test]
    fn every_test_number_is_a_valid_number_and_maps_to_its_row() {
        for row in TEST_NUMBERS {
            let phone =
                PhoneNumber::parse(row.number).unwrap_or_else(|e| panic!("{}: {e}", row.number));
            assert_eq!(
                test_number(phone.international_digits()),
                *row,
                "{}",
                row.number
            );
        }
        assert_eq!(test_number("447911123456").silent, Scenario::Valid);
        assert_eq!(test_number("5521912345678").silent, Scenario::BrazilOk);
        assert_eq!(load_mix().count(), 8);
    }

    #[test]
    fn every_camara_number_is_a_german_mobile_and_maps_to_its_row() {
        for row in CAMARA_NUMBERS {
            let phone = PhoneNumber::parse(row.number).unwrap();
            assert_eq!(phone.country(), Some("DE"), "{}", row.number);
            assert_eq!(
                phone.number_type(),
                smv_shared::phone::NumberType::Mobile,
                "{}",
                row.number
            );
            assert_eq!(camara_number(phone.international_digits()), row.scenario);
        }
    }
}
