"""The example web relying party (examples/oidc_web_rp.py, on Authlib) signs a user in through
smv-local's OpenID Provider, in a real headless Chromium: discovery, the authorization code flow
with PKCE (the browser meets the site, the sign-in page and the simulated operator), the token
exchange, the ID token checked by Authlib (signature by the JWKS, iss, aud, nonce, exp) and
UserInfo. Then the refusals a relying party can meet.

    python scripts/oidc_rp_authlib.py ISSUER CHROMIUM_BINARY CLIENT_ID CLIENT_SECRET PORT

Run by scripts/test against an smv-local whose OIDC_CLIENTS_FILE registers the client for
http://127.0.0.1:PORT/callback.
"""

import os
import secrets
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from oidc_web_rp import RelyingParty, serve  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

PHONE = "+447911000001"  # the simulator's VALID number


def main():
    issuer, chromium, client_id, client_secret, port = sys.argv[1:6]
    site = f"http://127.0.0.1:{port}"
    rp = RelyingParty(issuer, client_id, client_secret, f"{site}/callback")
    server = serve(rp, int(port))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
            page.on("request", lambda r: seen.append(r.url))
            page.goto(f"{site}/")
            page.click("#login")
            expect(page.locator("h1")).to_have_text("Sign in with your phone number")
            page.get_by_label("Your phone number").fill(PHONE)
            page.get_by_role("button", name="Verify my number").click()
            expect(page.locator("h1")).to_have_text("Signed in", timeout=30_000)
            sub = page.locator("#sub").inner_text()
            assert page.locator("#phone").inner_text() == PHONE
        finally:
            browser.close()
    callback = next(u for u in seen if u.startswith(f"{site}/callback"))
    assert PHONE[1:] not in sub and len(sub) == 43, sub
    print(f"  ok  Authlib (examples/oidc_web_rp.py): discovery, code flow with PKCE in Chromium, ID token checked, UserInfo (sub {sub[:8]}…)")

    # The same code again: refused, and what the first exchange issued is revoked.
    metadata = rp.metadata
    again = OAuth2Session(client_id, client_secret, redirect_uri=rp.redirect_uri)
    try:
        again.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier="x" * 43)
        raise AssertionError("a code was exchanged twice")
    except Exception as refused:  # Authlib raises OAuthError
        assert "invalid_grant" in str(refused), refused
    print("  ok  Authlib: a reused code is refused")

    wrong = OAuth2Session(client_id, "not-the-secret-" + secrets.token_hex(16), redirect_uri=rp.redirect_uri)
    try:
        wrong.fetch_token(metadata["token_endpoint"], code="x", code_verifier="x" * 43)
        raise AssertionError("a wrong secret was accepted")
    except Exception as refused:
        assert "invalid_client" in str(refused), refused
    print("  ok  Authlib: a wrong client secret is invalid_client")

    url, _ = OAuth2Session(client_id, client_secret, redirect_uri=rp.redirect_uri + "/",
                           code_challenge_method="S256").create_authorization_url(
        metadata["authorization_endpoint"], code_verifier="v" * 43, nonce="n")
    try:
        urllib.request.urlopen(url)
        raise AssertionError("an unregistered redirect URI was served")
    except urllib.error.HTTPError as refused:
        assert refused.code == 400 and refused.headers.get("location") is None, refused
    print("  ok  Authlib: an unregistered redirect URI gets a page, no redirect")
    server.shutdown()


if __name__ == "__main__":
    main()
