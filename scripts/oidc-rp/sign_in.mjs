// A relying party on openid-client (panva) signs in through smv-local's OpenID Provider, in a real
// headless Chromium driven by playwright-core (no browser download): discovery, the authorization
// code flow with PKCE, the token exchange with the ID token checked by openid-client (signature
// by the JWKS, iss, aud, nonce, exp) and UserInfo. Run by scripts/test:
//
//   node scripts/oidc-rp/sign_in.mjs ISSUER CHROMIUM CLIENT_ID CLIENT_SECRET REDIRECT_URI

import assert from "node:assert/strict";
import * as client from "openid-client";
import { chromium } from "playwright-core";

const [issuer, executablePath, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const PHONE = "+447911000001"; // the simulator's VALID number

// smv-local serves http on a loopback address: openid-client refuses that unless told.
const config = await client.discovery(
  new URL(issuer),
  clientId,
  { client_secret: clientSecret, id_token_signed_response_alg: "ES256" },
  client.ClientSecretPost(clientSecret),
  { execute: [client.allowInsecureRequests] },
);
assert.equal(config.serverMetadata().issuer, issuer);

const verifier = client.randomPKCECodeVerifier();
const nonce = client.randomNonce();
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid phone",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  nonce,
  state,
  login_hint: `tel:${PHONE}`,
});

const browser = await chromium.launch({ executablePath });
let back;
try {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
  await page.route(`${redirectUri}**`, (route) => {
    back = route.request().url();
    return route.fulfill({ status: 200, contentType: "text/html", body: "<h1>Signed in</h1>" });
  });
  await page.goto(url.href);
  assert.equal(await page.getByLabel("Your phone number").inputValue(), PHONE, "login_hint pre-fills");
  await page.getByRole("button", { name: "Verify my number" }).click();
  await page.waitForURL(`${redirectUri}**`, { timeout: 30_000 });
} finally {
  await browser.close();
}
assert.ok(back, "the provider sent the browser back");

const tokens = await client.authorizationCodeGrant(config, new URL(back), {
  pkceCodeVerifier: verifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
});
const claims = tokens.claims();
assert.equal(claims.iss, issuer);
assert.equal(claims.aud, clientId);
assert.equal(claims.nonce, nonce);
assert.deepEqual(claims.amr, ["smv"]);
assert.equal(claims.phone_number, PHONE);
assert.ok(!claims.sub.includes(PHONE.slice(1)), "the sub is not the number");
console.log(`  ok  openid-client: discovery, code flow with PKCE in Chromium, ID token checked (sub ${claims.sub.slice(0, 8)}…)`);

const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
assert.deepEqual(info, { sub: claims.sub, phone_number: PHONE, phone_number_verified: true });
console.log("  ok  openid-client: UserInfo names the same sub and the number");

await assert.rejects(
  client.authorizationCodeGrant(config, new URL(back), { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state }),
  (error) => error.error === "invalid_grant" || String(error).includes("invalid_grant"),
);
await assert.rejects(client.fetchUserInfo(config, tokens.access_token, claims.sub));
console.log("  ok  openid-client: a reused code is refused and what it issued is revoked");
