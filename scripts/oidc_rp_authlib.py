"""A relying party on Authlib signs in through smv-local's OpenID Provider, in a real headless
Chromium: discovery, the authorization code flow with PKCE (the browser meets the sign-in page and
the simulated operator), the token exchange, the ID token checked by Authlib (signature by the
JWKS, iss, aud, nonce, exp) and UserInfo. Then the refusals a relying party can see.

    python scripts/oidc_rp_authlib.py ISSUER CHROMIUM_BINARY CLIENT_ID CLIENT_SECRET REDIRECT_URI

Run by scripts/test against an smv-local with OIDC_CLIENTS_FILE naming the client.
"""

import json
import secrets
import sys
import time
import urllib.error
import urllib.request
import warnings

from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken

# Authlib's OpenID Connect claims checks (CodeIDToken) still run on authlib.jose, which warns that
# it will move to joserfc by Authlib 2.0: the checks are what this test is for.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, jwt
from playwright.sync_api import sync_playwright  # noqa: E402

PHONE = "+447911000001"  # the simulator's VALID number


def fetch_json(url):
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def sign_in(browser, authorization_url, redirect_uri):
    """The browser's part: the sign-in page, the operator, back to the relying party. Returns the
    URL the provider sent the browser back to (the relying party's callback is never served)."""
    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    landed = []

    def callback(route):
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Signed in</h1>")

    page.route(f"{redirect_uri}**", callback)
    page.goto(authorization_url)
    assert page.get_by_label("Your phone number").input_value() == PHONE, "login_hint pre-fills"
    page.get_by_role("button", name="Verify my number").click()
    page.wait_for_url(f"{redirect_uri}**", timeout=30_000)
    assert landed, "the provider sent the browser back"
    return landed[0]


def main():
    issuer, chromium, client_id, client_secret, redirect_uri = sys.argv[1:6]
    metadata = fetch_json(f"{issuer}/.well-known/openid-configuration")
    assert metadata["issuer"] == issuer, metadata
    jwks = JsonWebKey.import_key_set(fetch_json(metadata["jwks_uri"]))

    session = OAuth2Session(
        client_id,
        client_secret,
        scope="openid phone",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    authorization_url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce,
        login_hint=f"tel:{PHONE}",
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            back = sign_in(browser, authorization_url, redirect_uri)
        finally:
            browser.close()
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=back, state=state, code_verifier=verifier,
    )
    claims = jwt.decode(
        token["id_token"], jwks, claims_cls=CodeIDToken,
        claims_options={"iss": {"values": [issuer]}, "aud": {"values": [client_id]}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate(now=int(time.time()))
    assert claims["nonce"] == nonce
    assert claims["amr"] == ["smv"], claims
    assert claims["phone_number"] == PHONE, claims
    assert PHONE[1:] not in claims["sub"], "the sub is not the number"
    print(f"  ok  Authlib: discovery, code flow with PKCE in Chromium, ID token checked (sub {claims['sub'][:8]}…)")

    info = session.get(metadata["userinfo_endpoint"]).json()
    assert info == {"sub": claims["sub"], "phone_number": PHONE, "phone_number_verified": True}, info
    print("  ok  Authlib: UserInfo names the same sub and the number")

    # The same code again: refused, and the access token it gave is revoked.
    again = OAuth2Session(client_id, client_secret, redirect_uri=redirect_uri)
    try:
        again.fetch_token(metadata["token_endpoint"], authorization_response=back, code_verifier=verifier)
        raise AssertionError("a code was exchanged twice")
    except Exception as refused:  # authlib raises OAuthError
        assert "invalid_grant" in str(refused), refused
    revoked = session.get(metadata["userinfo_endpoint"])
    assert revoked.status_code == 401, revoked.text
    print("  ok  Authlib: a reused code is refused and what it issued is revoked")

    # A wrong client secret.
    wrong = OAuth2Session(client_id, "not-the-secret-" + secrets.token_hex(16), redirect_uri=redirect_uri)
    try:
        wrong.fetch_token(metadata["token_endpoint"], code="x", code_verifier=verifier)
        raise AssertionError("a wrong secret was accepted")
    except Exception as refused:
        assert "invalid_client" in str(refused), refused
    print("  ok  Authlib: a wrong client secret is invalid_client")

    # An unregistered redirect URI: the provider does not redirect.
    bad, _ = OAuth2Session(client_id, client_secret, redirect_uri=redirect_uri + "/", code_challenge_method="S256").create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    try:
        urllib.request.urlopen(bad)
        raise AssertionError("an unregistered redirect URI was served")
    except urllib.error.HTTPError as refused:
        assert refused.code == 400 and "location" not in {k.lower() for k in refused.headers}, refused
    print("  ok  Authlib: an unregistered redirect URI gets a page, no redirect")


if __name__ == "__main__":
    main()
