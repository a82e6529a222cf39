"""The verification page (`GET /web`) in a real headless Chromium, against smv-local and its
Infobip simulator: every outcome a user can meet, the Back button, and a return without state.
Screenshots of the start and result screens go to the directory given, for a person to look at.

    python scripts/browser_test.py BASE_URL CHROMIUM_BINARY SCREENSHOT_DIR

Run by scripts/test with Debian's chromium-headless-shell: Playwright drives that binary and
downloads nothing (never `playwright install`). The server must run with PENDING_TIMEOUT_SECONDS
and FALLBACK_AFTER_SECONDS short enough for the EXPIRED and long-wait cases (scripts/test uses
20 and 10).
"""

import base64
import hashlib
import json
import os
import re
import secrets
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

import jwt  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from relying_party import AssertionRefused, verify_assertion  # noqa: E402

PHONE_VIEWPORT = {"width": 390, "height": 844}
AUDIENCE = "smv-local"  # smv-local's default ASSERTION_AUDIENCE
# Long enough for the operator's redirects and the callback; EXPIRED needs the pending timeout.
RESULT_TIMEOUT_MS = 30_000
EXPIRED_TIMEOUT_MS = 60_000


class Run:
    def __init__(self, base, browser, shots):
        self.base = base.rstrip("/")
        self.browser = browser
        self.shots = shots
        self.passed = []

    def context(self):
        return self.browser.new_context(
            viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True
        )

    def page(self):
        page = self.context().new_page()
        page.starts = []
        page.on(
            "request",
            lambda r: page.starts.append(r.url)
            if r.method == "POST" and r.url.endswith("/verifications")
            else None,
        )
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.script_errors = errors
        return page

    def shot(self, page, name):
        page.screenshot(path=os.path.join(self.shots, f"{name}.png"), full_page=True)

    def start(self, page, phone, nonce=None):
        page.goto(f"{self.base}/web" + (f"?nonce={nonce}" if nonce else ""))
        page.get_by_label("Your phone number").fill(phone)
        page.get_by_role("button", name="Verify my number").click()

    def result(self, page, status, timeout=RESULT_TIMEOUT_MS):
        result = page.locator("#result")
        expect(result).to_have_attribute("data-status", status, timeout=timeout)
        expect(result).to_contain_text(status)
        assert not page.script_errors, page.script_errors
        return result

    def check(self, name, test):
        started = time.monotonic()
        test()
        self.passed.append(name)
        print(f"  ok  {name} ({time.monotonic() - started:.1f} s)")

    # --- the cases -------------------------------------------------------------------------

    def valid_with_a_verified_assertion(self):
        page = self.page()
        nonce = "browser-test-" + secrets.token_hex(8)
        page.goto(f"{self.base}/web?nonce={nonce}")
        expect(page.get_by_label("Your phone number")).to_have_attribute("type", "tel")
        expect(page.locator("input[name=phoneNumber]")).to_have_attribute("autocomplete", "tel")
        self.shot(page, "start")
        page.get_by_label("Your phone number").fill("+447911000001")
        page.get_by_role("button", name="Verify my number").click()
        result = self.result(page, "VALID")
        # Back from the operator on our page, not on the one-time return URL.
        assert page.url == f"{self.base}/web", page.url
        assertion = result.get_attribute("data-assertion")
        assert assertion, "the assertion is on the result"
        jwks = jwt.PyJWKClient(f"{self.base}/.well-known/jwks.json")
        number = verify_assertion(
            assertion, jwks_client=jwks, issuer=self.base, audience=AUDIENCE,
            nonce=nonce, seen_jtis={},
        )
        assert number == "+447911000001", number
        # Focus moves to the announced result, for keyboard and screen-reader users.
        expect(page.locator("#result")).to_be_focused()
        page.locator("#claims-box summary").click()
        expect(page.locator("#claims")).to_contain_text("+447911000001")
        self.shot(page, "valid")
        assert len(page.starts) == 1, page.starts

        # The Back button from the result: the same outcome, no second verification.
        page.go_back()
        self.result(page, "VALID")
        assert len(page.starts) == 1, page.starts

    def invalid(self):
        page = self.page()
        self.start(page, "+447911000002")
        self.result(page, "INVALID")
        expect(page.locator("#advice")).to_contain_text("number of the phone you are holding")
        assert page.locator("#result").get_attribute("data-assertion") is None
        self.shot(page, "invalid")

    def error_306_says_turn_off_wifi(self):
        page = self.page()
        self.start(page, "+447911000306")
        self.result(page, "ERROR")
        expect(page.locator("#advice")).to_contain_text("Turn off Wi-Fi")
        self.shot(page, "error-306")

    def error_306_falls_back_to_a_code(self):
        page = self.page()
        nonce = "browser-test-" + secrets.token_hex(8)
        self.start(page, "+447911000306", nonce=nonce)
        self.result(page, "ERROR")
        expect(page.locator("#fallback")).to_be_visible()
        self.shot(page, "error-306-offers-a-code")
        page.get_by_role("button", name="Text me a code").click()
        expect(page.locator("#fallback-status")).to_contain_text("text message")
        pin = self.inbox("447911000306")
        page.get_by_label("The code you received").fill("000000" if pin != "000000" else "111111")
        page.get_by_role("button", name="Verify the code").click()
        expect(page.locator("#pin-error")).to_contain_text("attempts left")
        page.get_by_label("The code you received").fill(pin)
        page.get_by_role("button", name="Verify the code").click()
        result = self.result(page, "VALID")
        jwks = jwt.PyJWKClient(f"{self.base}/.well-known/jwks.json")
        assertion = result.get_attribute("data-assertion")
        # A relying party that opted into a PIN by SMS; the default refuses it.
        number = verify_assertion(
            assertion, jwks_client=jwks, issuer=self.base, audience=AUDIENCE,
            nonce=nonce, seen_jtis={}, accepted_methods=("smv", "sms"),
        )
        assert number == "+447911000306", number
        assert jwt.decode(assertion, options={"verify_signature": False})["amr"] == ["sms"]
        self.shot(page, "valid-by-code")

    def a_long_wait_offers_a_code(self):
        page = self.page()
        self.start(page, "+447911000404")  # the operator never answers
        page.get_by_role("button", name="Taking long? Get a code instead").click(timeout=RESULT_TIMEOUT_MS)
        page.get_by_role("button", name="Call me with a code").click()
        expect(page.locator("#fallback-status")).to_contain_text("calling you")
        page.get_by_label("The code you received").fill(self.inbox("447911000404"))
        page.get_by_role("button", name="Verify the code").click()
        result = self.result(page, "VALID")
        assertion = result.get_attribute("data-assertion")
        assert jwt.decode(assertion, options={"verify_signature": False})["amr"] == ["tel"]

    def a_swapped_sim_gets_no_code(self):
        page = self.page()
        self.start(page, "+447911000307")
        self.result(page, "ERROR")
        page.get_by_role("button", name="Text me a code").click()
        expect(page.locator("#fallback-status")).to_contain_text("SIM card changed recently")
        expect(page.locator("#pin-form")).to_be_hidden()

    def a_swapped_sim_gets_no_proof_after_a_valid(self):
        page = self.page()
        self.start(page, "+447911000309")  # VALID, but the SIM-swap check at the redeem finds a swap
        result = self.result(page, "ERROR")
        assert result.get_attribute("data-assertion") is None
        expect(page.locator("#advice")).to_contain_text("SIM card was changed recently")

    def inbox(self, digits):
        with urllib.request.urlopen(f"{self.base}/_simulator/infobip/inbox/{digits}") as response:
            return json.load(response)["pin"]

    def expired(self):
        page = self.page()
        self.start(page, "+447911000404")
        self.result(page, "EXPIRED", timeout=EXPIRED_TIMEOUT_MS)
        expect(page.locator("#advice")).to_contain_text("start again")
        self.shot(page, "expired")

    def brazil_ok_flow_polls_at_once(self):
        page = self.page()
        visited = []
        page.on("framenavigated", lambda frame: visited.append(frame.url))
        nonce = "browser-test-" + secrets.token_hex(8)
        self.start(page, "+5511987654321", nonce=nonce)
        result = self.result(page, "VALID")
        assert not any("/_simulator/" in url for url in visited), visited
        jwks = jwt.PyJWKClient(f"{self.base}/.well-known/jwks.json")
        number = verify_assertion(
            result.get_attribute("data-assertion"), jwks_client=jwks, issuer=self.base,
            audience=AUDIENCE, nonce=nonce, seen_jtis={},
        )
        assert number == "+5511987654321", number

    def back_from_the_operator_checks_instead_of_starting_again(self):
        page = self.page()
        # The operator's page, where the user presses Back before it finishes.
        page.route(
            re.compile(r".*/_simulator/infobip/device/.*"),
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<h1>Your operator</h1>"
            ),
        )
        self.start(page, "+447911000001")
        expect(page.locator("h1")).to_have_text("Your operator")
        page.go_back()
        expect(page.locator("#progress")).to_be_visible()
        expect(page.locator("#status")).to_contain_text("operator")
        expect(page.locator("#start")).to_be_hidden()
        assert len(page.starts) == 1, page.starts
        assert not page.script_errors, page.script_errors

    def a_return_without_state_shows_the_code(self):
        # A verification started elsewhere (an app), whose link opens in this browser.
        verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        request = urllib.request.Request(
            f"{self.base}/verifications",
            data=json.dumps(
                {"phoneNumber": "+447911000001", "codeChallenge": challenge, "codeChallengeMethod": "S256"}
            ).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            started = json.load(response)
        page = self.page()
        page.goto(started["deviceRedirectUrl"])
        expect(page.locator("h1")).to_have_text("Your phone number was checked")
        code = page.locator("#device-code")
        expect(code).to_be_visible()
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", code.inner_text()), code.inner_text()
        self.shot(page, "returned-without-state")
        # A reload: the code is not shown twice.
        page.reload()
        expect(page.locator("h1")).to_have_text("This link was already used")
        expect(page.locator("#device-code")).to_be_hidden()

    def camara_valid_with_a_verified_assertion(self):
        # Germany is network-based CAMARA in smv-local: the tab goes through Infobip's authorize
        # URL and the simulated operator, and comes back to /camara/return.
        page = self.page()
        visited = []  # every request: the redirect hops are not navigations of their own
        page.on("request", lambda request: visited.append(request.url))
        nonce = "browser-test-" + secrets.token_hex(8)
        self.start(page, "+4915100000001", nonce=nonce)
        result = self.result(page, "VALID")
        assert any("/camara/number-verification/v0/authorize" in u for u in visited), visited
        assert any("/camara/return?" in u for u in visited), visited
        assert page.url == f"{self.base}/web", page.url
        jwks = jwt.PyJWKClient(f"{self.base}/.well-known/jwks.json")
        number = verify_assertion(
            result.get_attribute("data-assertion"), jwks_client=jwks, issuer=self.base,
            audience=AUDIENCE, nonce=nonce, seen_jtis={},
        )
        assert number == "+4915100000001", number
        claims = jwt.decode(result.get_attribute("data-assertion"), options={"verify_signature": False})
        assert claims["amr"] == ["camara"], claims
        # A relying party that takes only SMV refuses it: the method is in the assertion.
        try:
            verify_assertion(
                result.get_attribute("data-assertion"), jwks_client=jwks, issuer=self.base,
                audience=AUDIENCE, nonce=nonce, seen_jtis={}, accepted_methods=("smv",),
            )
            raise AssertionError("an SMV-only relying party accepted a CAMARA assertion")
        except AssertionRefused:
            pass
        self.shot(page, "camara-valid")

    def camara_access_denied_says_turn_off_wifi(self):
        page = self.page()
        self.start(page, "+4915100009001")  # the operator answers access_denied
        self.result(page, "ERROR")
        expect(page.locator("#advice")).to_contain_text("Turn off Wi-Fi")
        self.shot(page, "camara-access-denied")

    def camara_invalid(self):
        page = self.page()
        self.start(page, "+4915100000002")
        self.result(page, "INVALID")
        assert page.locator("#result").get_attribute("data-assertion") is None


CASES = [
    ("VALID, assertion verified against the JWKS; Back after the result", "valid_with_a_verified_assertion"),
    ("INVALID", "invalid"),
    ("ERROR 306 advises turning off Wi-Fi", "error_306_says_turn_off_wifi"),
    ("ERROR 306 falls back to a code by SMS; the assertion says amr sms", "error_306_falls_back_to_a_code"),
    ("a swapped SIM gets no code", "a_swapped_sim_gets_no_code"),
    ("a swapped SIM gets no proof after the carrier's VALID", "a_swapped_sim_gets_no_proof_after_a_valid"),
    ("a long wait offers a code by voice; the assertion says amr tel", "a_long_wait_offers_a_code"),
    ("EXPIRED", "expired"),
    ("Brazil OK flow, no redirect", "brazil_ok_flow_polls_at_once"),
    ("Back from the operator checks instead of starting again", "back_from_the_operator_checks_instead_of_starting_again"),
    ("a return without state shows the code once", "a_return_without_state_shows_the_code"),
    ("CAMARA network-based: VALID through the operator, assertion amr camara", "camara_valid_with_a_verified_assertion"),
    ("CAMARA access_denied advises turning off Wi-Fi", "camara_access_denied_says_turn_off_wifi"),
    ("CAMARA INVALID", "camara_invalid"),
]


def main():
    if sys.argv[1:] == ["--count"]:
        print(len(CASES))
        return
    base, executable, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable)
        run = Run(base, browser, shots)
        for name, case in CASES:
            run.check(name, getattr(run, case))
        browser.close()
    print(f"browser tests: {len(run.passed)} of {len(CASES)} passed; screenshots in {shots}")


if __name__ == "__main__":
    main()
