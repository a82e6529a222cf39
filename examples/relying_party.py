"""How a relying party (your login or sign-up service) checks an SMV assertion.

`verify_assertion` is the part to copy: ES256 pinned, the key taken from the JWKS by `kid`, the
`typ`, `iss`, `aud`, `exp` and `iat`, the nonce of the session that asked, the verified number, a
`jti` never accepted twice, and the assurance: only the silent methods' `amr` (`smv` and
`camara`: the carrier recognised the SIM on its network; `camara-sim`: the SIM answered) unless
you opt into `sms` / `tel` (a PIN by SMS or voice, which a phishing page can relay), a
result at most `max_auth_age` seconds old (`auth_time`), and, by default, a SIM-swap check no older
than `max_sim_swap_age` (`sim_swap_checked_at`). Needs PyJWT with its crypto extra
(`pip install "PyJWT[crypto]"`).

Run as a script, it plays the whole flow against a backend with the Infobip simulator
(`cargo run -p smv-local`): the app starts a verification bound to a PKCE challenge and a nonce,
the device follows the redirects to the return URL and reads its code, the app redeems the
verification, and the relying party checks the assertion, then refuses a replay of it and an
assertion meant for another session. Then a verification completed by an SMS PIN (the device was
on Wi-Fi): refused by default, accepted only by a relying party that opts into `sms`.

    python examples/relying_party.py http://127.0.0.1:3000 [AUDIENCE]
"""

import base64
import hashlib
import json
import secrets
import sys
import time

import jwt
import requests

EXPECTED_TYP = "smv+jwt"


class AssertionRefused(Exception):
    pass


def verify_assertion(
    assertion,
    *,
    jwks_client,
    issuer,
    audience,
    nonce,
    seen_jtis,
    accepted_methods=("smv", "camara", "camara-sim"),
    max_auth_age=600,
    max_sim_swap_age=600,
):
    """The verified E.164 number, or AssertionRefused.

    `seen_jtis` maps each accepted `jti` to its `exp`; keep it (in your database) at least until
    those times, so that no assertion is accepted twice.

    `accepted_methods`: the `amr` values you accept. The silent methods only by default (SMV,
    network-based and SIM-based CAMARA: the carrier or the SIM vouched): a PIN (`sms`, `tel`)
    proves that someone typed a code sent to the number, which a phishing page can ask its
    victim for. Add them only where a PIN is good enough for what you protect.

    `max_sim_swap_age`: how old the SIM-swap check may be (`sim_swap_checked_at`); `None` also
    accepts an assertion without one (issued where the carrier has no SIM-swap coverage and the
    backend was told to allow that).
    """
    try:
        header = jwt.get_unverified_header(assertion)
        if header.get("alg") != "ES256" or header.get("typ") != EXPECTED_TYP:
            raise AssertionRefused(f"unexpected header {header}")
        key = jwks_client.get_signing_key(header["kid"])  # by kid, from the configured URL only
        claims = jwt.decode(
            assertion,
            key.key,
            algorithms=["ES256"],  # pinned: never the header's choice
            audience=audience,
            issuer=issuer,
            leeway=60,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "jti", "nonce", "amr", "auth_time"]},
        )
    except jwt.PyJWTError as e:
        raise AssertionRefused(str(e)) from e
    if claims["nonce"] != nonce:
        raise AssertionRefused("the assertion belongs to another session")
    methods = claims["amr"]
    if not (isinstance(methods, list) and methods and all(m in accepted_methods for m in methods)):
        raise AssertionRefused(f"verified by {methods}, and only {list(accepted_methods)} is accepted")
    now = time.time()
    if now - claims["auth_time"] > max_auth_age + 60:
        raise AssertionRefused("the verification is too old")
    checked_at = claims.get("sim_swap_checked_at")
    if max_sim_swap_age is not None and (checked_at is None or now - checked_at > max_sim_swap_age + 60):
        raise AssertionRefused("no recent SIM-swap check")
    if claims.get("phone_number_verified") is not True:
        raise AssertionRefused("the number is not marked verified")
    number = claims.get("phone_number", "")
    if not (number.startswith("+") and number[1:].isdigit() and number == claims["sub"]):
        raise AssertionRefused("the number is not E.164")
    for jti, expires in list(seen_jtis.items()):
        if expires < now - 60:
            del seen_jtis[jti]
    if claims["jti"] in seen_jtis:
        raise AssertionRefused("this assertion was already used")
    seen_jtis[claims["jti"]] = claims["exp"]
    return number


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def start_bound(api, phone):
    """The app: a verification of `phone` bound to a fresh PKCE pair and nonce.

    Returns the app's session, the verifier, the nonce and the start's answer."""
    verifier = b64url(secrets.token_bytes(32))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    nonce = b64url(secrets.token_bytes(12))
    app = requests.Session()
    started = app.post(
        f"{api}/verifications",
        json={"phoneNumber": phone, "codeChallenge": challenge, "codeChallengeMethod": "S256", "nonce": nonce},
        timeout=10,
    )
    started.raise_for_status()
    return app, verifier, nonce, started.json()


def follow_redirects(started):
    """The device: the operator's redirects (with cookies), ending at the backend's return URL."""
    back = requests.Session().get(started["deviceRedirectUrl"], headers={"Accept": "application/json"}, timeout=10)
    back.raise_for_status()
    return back.json()


def poll_until_final(app, api, token):
    for _ in range(50):
        poll = app.get(f"{api}/verifications/{token}", timeout=10).json()
        if poll["status"] != "PENDING":
            break
        time.sleep(0.2)
    return poll


def demo(api, audience):
    phone = "+447911000077"  # the simulator verifies any number it has no other scenario for
    app, verifier, nonce, started = start_bound(api, phone)
    token = started["token"]
    device_code = follow_redirects(started)["deviceCode"]
    status = poll_until_final(app, api, token)["status"]
    if status != "VALID":
        raise SystemExit(f"the verification ended {status}")

    redeemed = app.post(
        f"{api}/verifications/{token}/assertion",
        json={"codeVerifier": verifier, "deviceCode": device_code, "phoneNumber": phone},
        timeout=10,
    )
    redeemed.raise_for_status()
    assertion = redeemed.json()["assertion"]

    jwks_client = jwt.PyJWKClient(f"{api}/.well-known/jwks.json")
    seen = {}
    number = verify_assertion(
        assertion, jwks_client=jwks_client, issuer=api, audience=audience, nonce=nonce, seen_jtis=seen
    )
    assert number == phone, number
    print(f"verified {number} for this session: {json.dumps(jwt.decode(assertion, options={'verify_signature': False}))}")

    for what, attempt in [
        ("a replay", dict(nonce=nonce, seen_jtis=seen)),
        ("another session's assertion", dict(nonce="another-session", seen_jtis={})),
    ]:
        try:
            verify_assertion(assertion, jwks_client=jwks_client, issuer=api, audience=audience, **attempt)
        except AssertionRefused as e:
            print(f"refused {what}: {e}")
        else:
            raise SystemExit(f"{what} was accepted")
    tampered = assertion[:-4] + ("AAAA" if not assertion.endswith("AAAA") else "BBBB")
    try:
        verify_assertion(tampered, jwks_client=jwks_client, issuer=api, audience=audience, nonce=nonce, seen_jtis={})
    except AssertionRefused as e:
        print(f"refused a tampered signature: {e}")
    else:
        raise SystemExit("a tampered assertion was accepted")

    pin_verified_flow(api, audience, jwks_client)


def pin_verified_flow(api, audience, jwks_client):
    """The device was on Wi-Fi (the simulator's +447911000306 answers ERROR 306), so the app falls
    back to an SMS PIN: the assertion says `amr` `sms`, which the default check refuses."""
    phone = "+447911000306"
    app, verifier, nonce, started = start_bound(api, phone)
    token = started["token"]
    requests.get(started["deviceRedirectUrl"], headers={"Accept": "application/json"}, timeout=10)
    poll = poll_until_final(app, api, token)
    if not poll.get("fallback", {}).get("allowed"):
        raise SystemExit(f"no fallback offered: {poll}")
    sent = app.post(
        f"{api}/verifications/{token}/fallback",
        json={"codeVerifier": verifier, "channel": "sms", "phoneNumber": phone},
        timeout=10,
    )
    sent.raise_for_status()
    pin = requests.get(f"{api}/_simulator/infobip/inbox/{phone[1:]}", timeout=10).json()["pin"]
    app.post(f"{api}/verifications/{token}/pin", json={"codeVerifier": verifier, "pin": pin}, timeout=10).raise_for_status()
    redeemed = app.post(
        f"{api}/verifications/{token}/assertion",
        json={"codeVerifier": verifier, "phoneNumber": phone},
        timeout=10,
    )
    redeemed.raise_for_status()
    assertion = redeemed.json()["assertion"]
    check = dict(jwks_client=jwks_client, issuer=api, audience=audience, nonce=nonce)
    try:
        verify_assertion(assertion, seen_jtis={}, **check)
    except AssertionRefused as e:
        print(f"refused an SMS-verified assertion by default: {e}")
    else:
        raise SystemExit("an SMS-verified assertion was accepted without opting in")
    number = verify_assertion(assertion, seen_jtis={}, accepted_methods=("smv", "sms"), **check)
    print(f"accepted {number} verified by SMS PIN where the relying party opted into sms")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    demo(sys.argv[1].rstrip("/"), sys.argv[2] if len(sys.argv) == 3 else "smv-local")
