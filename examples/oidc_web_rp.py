"""A web site that signs its users in with their phone number through this backend's OpenID
Provider, with Authlib: the authorization code flow with PKCE, the ID token checked (signature by
the provider's JWKS, iss, aud, nonce, exp), then UserInfo. The account key is the ID token's
`sub`: pairwise (this site's own) and never the phone number, so a recycled number does not hand
the account to its next owner. Needs `pip install Authlib requests`.

    python examples/oidc_web_rp.py ISSUER CLIENT_ID CLIENT_SECRET PORT

with a client registered for the redirect URI http://127.0.0.1:PORT/callback (for smv-local:
`cargo run -p smv-local -- oidc-client --redirect-uri http://127.0.0.1:8000/callback`, saved in
the file OIDC_CLIENTS_FILE names). Then open http://127.0.0.1:PORT/. scripts/test runs it.
"""

import html
import http.server
import json
import secrets
import sys
import time
import urllib.parse
import urllib.request
import warnings

from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken

with warnings.catch_warnings():
    # Authlib's OpenID claims checks still run on authlib.jose, which warns of its move to joserfc.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, jwt


def fetch_json(url):
    with urllib.request.urlopen(url) as response:
        return json.load(response)


class RelyingParty:
    """The OpenID Connect part, apart from any web framework."""

    def __init__(self, issuer, client_id, client_secret, redirect_uri):
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.metadata = fetch_json(f"{issuer}/.well-known/openid-configuration")
        if self.metadata["issuer"] != issuer:
            raise ValueError(f"the provider says its issuer is {self.metadata['issuer']}")
        # Keep this per session (a signed cookie or the session store of your framework).
        self.pending = {}

    def session(self):
        return OAuth2Session(
            self.client_id, self.client_secret, scope="openid phone",
            redirect_uri=self.redirect_uri, code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def login_url(self, login_hint=None):
        """Where to send the browser, and the state that names this attempt."""
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        extra = {"login_hint": f"tel:{login_hint}"} if login_hint else {}
        url, state = self.session().create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra)
        self.pending[state] = (verifier, nonce)
        return url, state

    def finish(self, callback_url, state):
        """The checked ID token's claims and UserInfo, for the browser that came back to
        `callback_url` with the `state` its own session started."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback_url).query))
        if query.get("iss") != self.issuer:
            raise ValueError("the answer does not come from our provider (RFC 9207 iss)")
        if "error" in query:
            raise ValueError(f"sign-in refused: {query['error']}: {query.get('error_description')}")
        verifier, nonce = self.pending.pop(state)
        session = self.session()
        token = session.fetch_token(
            self.metadata["token_endpoint"], authorization_response=callback_url, state=state,
            code_verifier=verifier)
        claims = jwt.decode(
            token["id_token"], JsonWebKey.import_key_set(fetch_json(self.metadata["jwks_uri"])),
            claims_cls=CodeIDToken,
            claims_options={"iss": {"values": [self.issuer]}, "aud": {"values": [self.client_id]}},
            claims_params={"nonce": nonce, "client_id": self.client_id})
        claims.validate(now=int(time.time()))
        # Silent evidence only, unless a PIN is good enough for what this site protects.
        if claims["amr"] not in (["smv"], ["camara"], ["camara-sim"]):
            raise ValueError(f"verified by {claims['amr']}, which this site does not accept")
        info = session.get(self.metadata["userinfo_endpoint"]).json()
        if info["sub"] != claims["sub"]:
            raise ValueError("UserInfo names another subject")
        return dict(claims), info, token


def serve(rp, port):
    """A minimal site: / offers the sign-in, /login starts it, /callback finishes it."""

    class Site(http.server.BaseHTTPRequestHandler):
        def page(self, status, body, headers=()):
            self.send_response(status)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("cache-control", "no-store")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(f"<!doctype html><meta charset=utf-8><main>{body}</main>".encode())

        def do_GET(self):  # noqa: N802 (http.server's name)
            path = urllib.parse.urlsplit(self.path).path
            if path == "/":
                return self.page(200, '<h1>Example shop</h1><a id="login" href="/login">Sign in with your phone number</a>')
            if path == "/login":
                url, state = rp.login_url()
                # The cookie ties the answer to this browser (login CSRF): only it may finish.
                return self.page(302, "", [("location", url), ("set-cookie", f"rp_state={state}; HttpOnly; SameSite=Lax; Path=/")])
            if path == "/callback":
                cookies = dict(c.strip().split("=", 1) for c in self.headers.get("cookie", "").split(";") if "=" in c)
                state = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("state", [""])[0]
                if not state or cookies.get("rp_state") != state or state not in rp.pending:
                    return self.page(400, "<h1>This sign-in was not started here</h1>")
                try:
                    claims, info, _ = rp.finish(f"{rp.redirect_uri}?{urllib.parse.urlsplit(self.path).query}", state)
                except ValueError as refused:
                    return self.page(403, f"<h1>Not signed in</h1><p id=why>{html.escape(str(refused))}</p>")
                return self.page(200, "<h1>Signed in</h1>"
                                 f"<p>Account <code id=sub>{html.escape(claims['sub'])}</code></p>"
                                 f"<p>Phone <span id=phone>{html.escape(info.get('phone_number', ''))}</span></p>")
            return self.page(404, "<h1>Not found</h1>")

        def log_message(self, *args):
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", port), Site)


if __name__ == "__main__":
    issuer, client_id, client_secret, port = sys.argv[1:5]
    port = int(port)
    relying_party = RelyingParty(issuer, client_id, client_secret, f"http://127.0.0.1:{port}/callback")
    print(f"open http://127.0.0.1:{port}/")
    serve(relying_party, port).serve_forever()
