(() => {
  "use strict";
  // The page's state survives the round trip through the operator in this tab only.
  const KEY = "smv-web";
  const FINAL = ["VALID", "INVALID", "ERROR", "EXPIRED"];
  const app = document.getElementById("app");
  const $ = (id) => document.getElementById(id);
  // The API lives where this page does: the path without "web", "authorize", "return/{secret}"
  // or "camara/return" keeps any stage prefix (a REST API's "/Prod/").
  const base = location.pathname.replace(/(?:web|authorize|return\/[^/]*|camara\/return)\/?$/, "");
  const api = (path) => base + path;

  const load = () => {
    try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
  };
  const save = (state) => {
    try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch { /* private mode: best effort */ }
  };
  const forget = () => {
    try { sessionStorage.removeItem(KEY); } catch { /* nothing to forget */ }
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const random = (n) => base64url(crypto.getRandomValues(new Uint8Array(n)));
  // JSON in base64url: a JWS's claims, or a relying party's sign-in (`GET /authorize`: its
  // request, the way back, whether a PIN may do). Null for anything else.
  const fromBase64url = (text) => {
    try {
      const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))));
    } catch {
      return null;
    }
  };
  const signInOf = (state) => (state && state.authorize) || null;
  const challengeOf = async (verifier) =>
    base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));

  function show(section) {
    for (const id of ["start", "progress", "outcome"]) $(id).hidden = id !== section;
  }
  function say(text) {
    $("status").textContent = text;
  }
  // An input's error, announced (role=alert) and tied to it (aria-invalid); "" clears it.
  function inputError(input, text) {
    const error = $(`${input}-error`);
    error.textContent = text;
    error.hidden = !text;
    $(input).setAttribute("aria-invalid", text ? "true" : "false");
    if (text) $(input).focus();
  }
  const fieldError = (text) => inputError("phone", text);
  const pinError = (text) => inputError("pin", text);
  function retryAfter(response, fallback) {
    const seconds = Number(response.headers.get("retry-after"));
    return (Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) : fallback) * 1000;
  }
  async function detailOf(response) {
    try {
      const problem = await response.json();
      return problem.detail || problem.title || "";
    } catch {
      return "";
    }
  }

  function showStart() {
    show("start");
    $("title").textContent = "Verify your phone number";
  }

  async function start(event) {
    event.preventDefault();
    const phone = $("phone").value.trim();
    if (!/^\+?[0-9][0-9 ().-]{5,24}$/.test(phone)) {
      fieldError("Enter your number with its country code, for example +44 7911 123456.");
      return;
    }
    fieldError("");
    // A new verification: whatever was offered for the last one is gone.
    stopPolling = false;
    pendingOffer = null;
    $("offer-code").hidden = true;
    $("fallback").hidden = true;
    $("pin-form").hidden = true;
    $("fallback-status").textContent = "";
    const button = $("start-button");
    button.disabled = true;
    const verifier = random(32);
    const nonce = new URLSearchParams(location.search).get("nonce") || random(16);
    let response;
    try {
      response = await fetch(api("verifications"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          phoneNumber: phone,
          codeChallenge: await challengeOf(verifier),
          codeChallengeMethod: "S256",
          nonce,
        }),
      });
    } catch {
      button.disabled = false;
      fieldError("We could not reach the server. Check that mobile data is on, then try again.");
      return;
    }
    button.disabled = false;
    if (!response.ok) {
      if (response.status === 400 || response.status === 422) {
        fieldError((await detailOf(response)) || "This number cannot be checked. Check it and try again.");
      } else if (response.status === 429) {
        const minutes = Math.max(1, Math.ceil(retryAfter(response, 60) / 60000));
        fieldError(`Too many attempts for now. Try again in ${minutes} minute${minutes > 1 ? "s" : ""}.`);
      } else {
        fieldError("The service is busy. Try again in a moment.");
      }
      return;
    }
    const started = await response.json();
    save({ token: started.token, verifier, phone, nonce, authorize: signInOf(load()) || undefined });
    const redirect = started.deviceRedirectUrl && new URL(started.deviceRedirectUrl, location.href);
    // Brazil's flow has no redirect: the operator answers Infobip directly, so poll at once.
    if (redirect && /^https?:$/.test(redirect.protocol)) {
      show("progress");
      say("Opening your operator's check…");
      // A whole-page navigation: only a top-level visit carries the operator's redirects and
      // cookies; the operator sends this tab back to our return page.
      location.assign(redirect.href);
      return;
    }
    poll();
  }

  let polling = false;
  // Set when the user takes the offer of a code while silent verification is still pending.
  let stopPolling = false;
  let pendingOffer = null;
  async function poll() {
    const state = load();
    if (!state || !state.token) return showStart();
    if (state.done) return render(state.done);
    if (polling) return;
    polling = true;
    show("progress");
    say("Checking with your operator…");
    try {
      for (;;) {
        let response;
        try {
          response = await fetch(api(`verifications/${encodeURIComponent(state.token)}`), { cache: "no-store" });
        } catch {
          say("Connection lost. Trying again…");
          await sleep(3000);
          continue;
        }
        if (response.status === 404) return finish({ status: "EXPIRED" }, state);
        if (!response.ok) {
          await sleep(retryAfter(response, 3));
          continue;
        }
        const report = await response.json();
        if (FINAL.includes(report.status)) return finish(report, state);
        if (stopPolling) return;
        const pinOk = !state.authorize || state.authorize.pinAllowed;
        pendingOffer = pinOk && report.fallback && report.fallback.allowed ? report.fallback.channels : null;
        $("offer-code").hidden = !pendingOffer;
        say("Waiting for your operator's answer…");
        await sleep(retryAfter(response, 2));
      }
    } finally {
      polling = false;
    }
  }

  // A VALID result is spent once, on an assertion (`redeem`) or on a relying party's code
  // (`askForCode`): both present the page's verifier, the number and, unless a PIN reached the
  // number itself, the device's code. The answer's JSON, or null with what the refusal means set
  // on `done`.
  async function spend(path, extra, state, done) {
    const body = { ...extra, codeVerifier: state.verifier, phoneNumber: state.phone };
    if (state.code && done.method !== "sms" && done.method !== "voice") body.deviceCode = state.code;
    try {
      const response = await fetch(api(path), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.ok) return await response.json();
      done.redeemFailed = true;
      // A swapped SIM ends the verification: the carrier's VALID proves nothing then.
      const problem = await response.json().catch(() => ({}));
      if (String(problem.type).endsWith(":sim-swap-detected")) {
        done.status = "ERROR";
        done.error = { id: 310, name: "EC_SIM_SWAP_DETECTED", description: problem.detail };
      } else if (String(problem.type).endsWith(":sim-swap-unknown")) {
        done.simSwapUnknown = true;
      }
    } catch {
      done.redeemFailed = true;
    }
    return null;
  }

  async function redeem(state, done) {
    const answer = await spend(`verifications/${encodeURIComponent(state.token)}/assertion`, {}, state, done);
    if (answer) done.assertion = answer.assertion;
  }

  // The sign-in's end: a VALID verification is exchanged for the relying party's code, and the tab
  // goes back to it; anything else stays here, with the way back to the site.
  async function askForCode(state, done) {
    const extra = { request: state.authorize.request, token: state.token };
    const answer = await spend("authorize/complete", extra, state, done);
    return answer && answer.redirectTo;
  }

  async function finishSignIn(done, state) {
    if (!state.authorize.pinAllowed) done.fallback = null;
    if (done.status === "VALID") {
      const to = await askForCode(state, done);
      if (to) {
        save({ token: state.token, authorize: state.authorize, done: { ...done, signedIn: true } });
        location.assign(to);
        return;
      }
    }
    save(done.fallback ? { ...state, done } : { token: state.token, authorize: state.authorize, done });
    render(done);
  }

  async function finish(report, state) {
    const done = {
      status: report.status,
      error: report.error || null,
      method: report.method || null,
      assertion: null,
      fallback: report.fallback && report.fallback.allowed ? report.fallback.channels : null,
    };
    if (state.authorize) return finishSignIn(done, state);
    if (report.status === "VALID" && report.assertion === "available") await redeem(state, done);
    // The verifier has done its work unless a code may still be asked for: keep only what the
    // result screen needs.
    save(done.fallback ? { ...state, done } : { token: state.token, done });
    render(done);
  }

  function fallbackSays(text) {
    $("fallback-status").textContent = text;
  }
  async function sendPin(channel) {
    const state = load();
    if (!state || !state.verifier) return;
    const buttons = [$("send-sms"), $("send-voice")];
    buttons.forEach((b) => { b.disabled = true; });
    let response;
    try {
      response = await fetch(api(`verifications/${encodeURIComponent(state.token)}/fallback`), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ codeVerifier: state.verifier, channel, phoneNumber: state.phone }),
      });
    } catch {
      buttons.forEach((b) => { b.disabled = false; });
      fallbackSays("We could not reach the server. Try again.");
      return;
    }
    buttons.forEach((b) => { b.disabled = false; });
    if (response.status === 202) {
      fallbackSays(channel === "sms"
        ? "We sent a code by text message. It can take a minute to arrive."
        : "We are calling you: listen for the code.");
      $("send-sms").textContent = "Text me the code again";
      $("send-voice").textContent = "Call me again";
      $("pin-form").hidden = false;
      $("pin").focus();
      return;
    }
    if (response.status === 429) {
      const seconds = Math.ceil(retryAfter(response, 30) / 1000);
      fallbackSays(response.headers.get("retry-after")
        ? `Please wait ${seconds} seconds before asking for another code.`
        : "No more codes can be sent for this attempt. Start again later.");
      return;
    }
    const problem = await response.json().catch(() => ({}));
    if (problem.type === "urn:smv:problem:sim-swap-detected") {
      fallbackSays("For your security we cannot send a code: this number's SIM card changed recently. Please verify another way.");
    } else {
      fallbackSays(problem.detail || "We could not send a code. Please verify another way.");
    }
    if (response.status !== 502 && response.status !== 503 && response.status !== 504) {
      buttons.forEach((b) => { b.hidden = true; });
    }
  }

  async function checkPin(event) {
    event.preventDefault();
    const state = load();
    if (!state || !state.verifier) return;
    const pin = $("pin").value.trim();
    if (!/^[0-9]{4,10}$/.test(pin)) {
      pinError("Enter the digits of the code you received.");
      return;
    }
    pinError("");
    const button = $("pin-button");
    button.disabled = true;
    let response;
    try {
      response = await fetch(api(`verifications/${encodeURIComponent(state.token)}/pin`), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ codeVerifier: state.verifier, pin }),
      });
    } catch {
      button.disabled = false;
      pinError("We could not reach the server. Try again.");
      return;
    }
    button.disabled = false;
    if (response.ok) {
      const verified = await response.json();
      const done = { status: "VALID", error: null, method: verified.method, assertion: null, fallback: null };
      if (state.authorize) return finishSignIn(done, state);
      await redeem(state, done);
      save({ token: state.token, done });
      render(done);
      return;
    }
    const problem = await response.json().catch(() => ({}));
    if (response.status === 422 && typeof problem.attemptsRemaining === "number") {
      const left = problem.attemptsRemaining;
      pinError(`That code is not right. ${left} attempt${left === 1 ? "" : "s"} left.`);
    } else if (response.status === 410) {
      pinError("This code can no longer be used. Ask for a new one, or start again.");
    } else {
      pinError(problem.detail || "The code could not be checked. Try again.");
    }
  }

  const HEADLINES = {
    PENDING: "Still waiting for your operator.",
    VALID: "VALID: your phone number is verified.",
    INVALID: "INVALID: this number is not the one in this phone.",
    ERROR: "ERROR: your operator could not check the number.",
    EXPIRED: "EXPIRED: the check took too long.",
  };

  function adviceFor(done) {
    const id = done.error && done.error.id;
    switch (done.status) {
      case "VALID":
        if (done.simSwapUnknown)
          return "Your operator cannot tell us whether this SIM was changed recently, so the number cannot be verified here. Use another way to verify it.";
        if (done.method === "sms" || done.method === "voice") {
          return done.assertion
            ? "Verified with the code we sent. The proof below is what this site's server checks."
            : "Verified with the code we sent, but the proof could not be collected here. Start again to get a new one.";
        }
        return done.assertion
          ? "You can continue. The proof below is what this site's server checks."
          : "Your number is verified, but the proof could not be collected here. Start again to get a new one.";
      case "INVALID":
        return "Check that you typed the number of the phone you are holding, then start again.";
      case "EXPIRED":
        return "Keep this page open, make sure mobile data is on and Wi-Fi is off, then start again.";
      case "PENDING":
        return "Your operator has not answered yet.";
      default:
        // 9001: CAMARA's operator did not see the device on its network (Wi-Fi, a VPN).
        if (id === 306 || id === 303 || id === 9001)
          return "Your phone is not using its mobile network. Turn off Wi-Fi (and any VPN or iCloud Private Relay), keep mobile data on, then start again.";
        if (id === 305)
          return "Your phone did not finish the check in time. Stay on mobile data and start again.";
        if (id === 309 || id === 310)
          return "This number's SIM card was changed recently, so it cannot be verified here. If you did not change it, call your operator now.";
        if (id === 100 || id === 101 || id === 9013)
          return "Your operator does not support this check. Use another way to verify your number.";
        return "Try again in a moment. If it keeps failing, use another way to verify your number.";
    }
  }

  const decodeClaims = (jws) => fromBase64url(String(jws).split(".")[1] || "");

  function render(done) {
    show("outcome");
    $("title").textContent = "Verification finished";
    const result = $("result");
    result.dataset.status = done.status;
    result.textContent = HEADLINES[done.status] || done.status;
    $("advice").textContent = adviceFor(done);
    const claimsBox = $("claims-box");
    const claims = done.assertion && decodeClaims(done.assertion);
    if (claims) {
      result.dataset.assertion = done.assertion;
      const list = $("claims");
      list.replaceChildren();
      for (const [name, value] of Object.entries(claims)) {
        const shown = (name === "exp" || name === "iat") && typeof value === "number"
          ? new Date(value * 1000).toLocaleString()
          : Array.isArray(value) ? value.join(", ") : String(value);
        const dt = document.createElement("dt");
        dt.textContent = name;
        const dd = document.createElement("dd");
        dd.textContent = shown;
        list.append(dt, dd);
      }
      claimsBox.hidden = false;
    } else {
      delete result.dataset.assertion;
      claimsBox.hidden = true;
    }
    $("code-box").hidden = true;
    const offer = Array.isArray(done.fallback) && done.fallback.length > 0;
    $("fallback").hidden = !offer;
    if (offer) {
      $("send-sms").hidden = !done.fallback.includes("sms");
      $("send-voice").hidden = !done.fallback.includes("voice");
      $("advice").textContent = `${adviceFor(done)} Or get a one-time code instead.`;
    }
    $("again").hidden = false;
    const signIn = signInOf(load());
    $("back-to-site").hidden = !signIn;
    if (signIn) $("back-to-site").href = signIn.deny;
    result.setAttribute("tabindex", "-1");
    result.focus();
  }

  // Back from the operator, or opened without this tab's state (another browser, an app's web
  // view): show the device's code for the app that asked.
  function returnedWithoutState(code) {
    show("outcome");
    $("title").textContent = "Your phone number was checked";
    const result = $("result");
    result.dataset.status = "";
    result.textContent = "Go back to the app or site that asked.";
    $("advice").textContent = "";
    $("code-box").hidden = !code;
    $("again").hidden = false;
  }

  function goneWithoutState() {
    show("outcome");
    $("title").textContent = "This link was already used";
    $("result").textContent = "Go back to the app or site that asked, or start again here.";
    $("advice").textContent = "";
    $("again").hidden = false;
  }

  function showSignIn(signIn) {
    showStart();
    $("title").textContent = "Sign in with your phone number";
    if (signIn.loginHint && !$("phone").value) $("phone").value = signIn.loginHint;
  }

  function boot() {
    const mode = app.dataset.mode;
    if (mode === "refused") return;
    // A new sign-in replaces whatever this tab had under way.
    const request = app.dataset.authorize && fromBase64url(app.dataset.authorize);
    if (request) {
      forget();
      save({ authorize: request });
    }
    const state = load();
    if (mode === "return" || mode === "gone") {
      if (state && state.token) {
        if (mode === "return" && app.dataset.deviceCode) {
          state.code = app.dataset.deviceCode;
          save(state);
        }
        // The return URL works once: a reload or Back should land on the page, not on it.
        history.replaceState(null, "", api("web"));
        return poll();
      }
      return mode === "return" ? returnedWithoutState(app.dataset.deviceCode) : goneWithoutState();
    }
    // Back from the operator's pages, or a reload: look at the verification under way instead
    // of starting another.
    if (state && state.token) return poll();
    if (signInOf(state)) return showSignIn(state.authorize);
    showStart();
  }

  $("start-form").addEventListener("submit", start);
  $("send-sms").addEventListener("click", () => sendPin("sms"));
  $("send-voice").addEventListener("click", () => sendPin("voice"));
  $("pin-form").addEventListener("submit", checkPin);
  $("offer-code").addEventListener("click", () => {
    stopPolling = true;
    render({ status: "PENDING", error: null, method: null, assertion: null, fallback: pendingOffer });
  });
  $("again").addEventListener("click", () => {
    // Starting again inside a sign-in stays in it.
    const signIn = signInOf(load());
    forget();
    if (signIn) save({ authorize: signIn });
    if (app.dataset.mode !== "start") {
      location.assign(api("web"));
      return;
    }
    $("phone").value = "";
    if (signIn) showSignIn(signIn);
    else showStart();
    $("phone").focus();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) boot();
  });
  boot();
})();
