//! The verification page for mobile browsers: `GET /web` asks for the number and starts a
//! verification bound to a PKCE challenge the page makes; the same page, served by
//! `GET /return/{secret}` (or `GET /camara/return`) when the operator sends the tab back, carries the device's code, polls
//! and redeems the assertion. One self-contained page: its script and style are inline and
//! allowed by their hashes, so the Content-Security-Policy allows nothing else.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};

use crate::device_return::DeviceCode;

const PAGE: &str = include_str!("web/page.html");
const SCRIPT: &str = include_str!("web/app.js");
const STYLE: &str = include_str!("web/style.css");

/// What the page opens on.
pub enum Mode<'a> {
    /// `GET /web`: the number form (or the verification this tab has under way).
    Start,
    /// Back from the operator: the device's one-time code.
    Returned(&'a DeviceCode),
    /// Back on a return URL whose code was already shown (a reload): what this tab knows.
    Gone,
    /// Back from the operator with a result but no code to show (CAMARA's INVALID or ERROR):
    /// the tab that started reads the result by polling.
    Checked,
    /// `GET /authorize`: the number form for a relying party's sign-in; the request, checked,
    /// as base64url JSON for the script (which sends it back for the code).
    Authorize(&'a str),
    /// `GET /authorize` with no client or redirect URI to go back to: why, and nothing else.
    Refused(&'a str),
}

/// The page in `mode`, with its security headers.
pub fn render(mode: Mode<'_>, status: StatusCode) -> Response<Body> {
    // Without script (an app's plain web view) the returned page still shows the code.
    let mut authorize = "";
    let refusal;
    let (mode, code, title, result) = match mode {
        Mode::Start => ("start", "", "Verify your phone number", ""),
        Mode::Authorize(request) => {
            authorize = request;
            ("start", "", "Sign in with your phone number", "")
        }
        Mode::Refused(why) => {
            refusal = html_escape(why);
            (
                "refused",
                "",
                "This sign-in link cannot be used",
                refusal.as_str(),
            )
        }
        Mode::Returned(code) => (
            "return",
            code.as_str(),
            "Your phone number was checked",
            "Go back to the app or site that asked.",
        ),
        Mode::Checked => (
            "return",
            "",
            "Your phone number was checked",
            "Go back to the app or site that asked.",
        ),
        Mode::Gone => (
            "gone",
            "",
            "This link was already used",
            "Go back to the app or site that asked, or start again here.",
        ),
    };
    let hidden = |shown: bool| if shown { "" } else { "hidden" };
    // The code is base64url: nothing in it needs escaping in an attribute or in text.
    debug_assert!(code
        .bytes()
        .chain(authorize.bytes())
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let html = template()
        .replace("{{MODE}}", mode)
        .replace("{{DEVICE_CODE}}", code)
        .replace("{{AUTHORIZE}}", authorize)
        .replace("{{TITLE}}", title)
        .replace("{{RESULT}}", result)
        .replace("{{START_HIDDEN}}", hidden(mode == "start"))
        .replace("{{OUTCOME_HIDDEN}}", hidden(mode != "start"))
        .replace("{{CODE_HIDDEN}}", hidden(!code.is_empty()));
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/html; charset=utf-8")
        .header(CACHE_CONTROL, "no-store")
        // Without it the operator's pages would see our page's address as the Referer.
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        // Severs `window.opener`: the page that opened this tab cannot later navigate it.
        .header("cross-origin-opener-policy", "same-origin")
        .header("content-security-policy", content_security_policy())
        .body(Body::Text(html))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page with its script and style in place (the parts that change per request stay marked).
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        PAGE.replace("{{STYLE}}", STYLE)
            .replace("{{SCRIPT}}", SCRIPT)
    })
}

/// Only this page's own script and style run; it talks to its own origin only; no frame may hold
/// it; no form posts anywhere (the script sends the start itself).
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = |text: &str| STANDARD.encode(Sha256::digest(text.as_bytes()));
        format!(
            "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; connect-src 'self'; \
             img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            hash(SCRIPT),
            hash(STYLE)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            _ => panic!("a text body"),
        }
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_script_and_style() {
        let page = render(Mode::Start, StatusCode::OK);
        let html = text(&page);
        let inline = |open: &str, close: &str| {
            let start = html.find(open).unwrap() + open.len();
            let end = start + html[start..].find(close).unwrap();
            STANDARD.encode(Sha256::digest(&html.as_bytes()[start..end]))
        };
        let policy = content_security_policy();
        assert!(policy.contains(&format!("'sha256-{}'", inline("<script>", "</script>"))));
        assert!(policy.contains(&format!("'sha256-{}'", inline("<style>", "</style>"))));
        assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "one script, the hashed one"
        );
        assert!(!html.contains("{{"), "every mark is filled");
    }

    #[test]
    fn a_returned_page_carries_its_code_and_hides_the_form() {
        let code = DeviceCode::for_return(
            &crate::token::UrlSecret::generate().unwrap().hash(),
            &crate::device_return::ReturnKey::new(vec![1; 32]).unwrap(),
        );
        let page = render(Mode::Returned(&code), StatusCode::OK);
        let html = text(&page);
        assert!(html.contains(&format!("data-device-code=\"{}\"", code.as_str())));
        assert!(html.contains("data-mode=\"return\""));
        assert!(html.contains("<section id=\"start\" hidden>"));
        assert!(
            html.contains("<p id=\"code-box\" >"),
            "shown without script"
        );
    }
}
