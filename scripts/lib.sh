# Shared by scripts/test, scripts/bench and scripts/load (sourced, not run).

venv=.venv

# Where cargo puts what it builds: target/, or wherever CARGO_TARGET_DIR (or a cargo config)
# says. Asked of cargo, so that the scripts run the binaries cargo really built. Logs go there too.
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p "$target_dir"

# Installs the pinned Python tools (moto, schemathesis, cfn-lint, sam) into the git-ignored
# .venv/, once per version of the requirements file.
ensure_venv() {
  local requirements=scripts/requirements-test.txt
  local stamp
  stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "==> installing test tools into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --requirement "$requirements"
    touch "$stamp"
  fi
}

# A headless Chromium for the browser tests: Debian's chromium-headless-shell (Playwright drives
# it and downloads nothing), installed with apt-get where this runs as root on Debian, or the
# binary SMV_BROWSER names.
default_browser=/usr/lib/chromium/chromium-headless-shell

# Installs Debian's chromium-headless-shell where it is missing and can be (root, apt-get).
install_browser() {
  if [ ! -x "$default_browser" ] && [ -z "${SMV_BROWSER:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium-headless-shell (apt-get, log: $target_dir/apt-browser.log)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell; } \
      >"$target_dir/apt-browser.log" 2>&1 || echo "    (failed: see $target_dir/apt-browser.log)"
  fi
}

# The Node relying party (openid-client, playwright-core) for the OpenID Provider's test, pinned by
# scripts/oidc-rp/package-lock.json into its git-ignored node_modules/, once per lock file. Node
# comes from Debian's nodejs and npm where it is missing and can be installed (root, apt-get).
# Sets node_rp to "yes" when it can run.
ensure_node_rp() {
  node_rp=""
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing nodejs and npm (apt-get, log: $target_dir/apt-node.log)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; } \
      >"$target_dir/apt-node.log" 2>&1 || echo "    (failed: see $target_dir/apt-node.log)"
  fi
  command -v npm >/dev/null || return 0
  local stamp
  stamp="scripts/oidc-rp/node_modules/.installed-$(sha256sum scripts/oidc-rp/package-lock.json | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "==> installing the Node relying party (npm ci in scripts/oidc-rp)"
    npm ci --prefix scripts/oidc-rp --no-audit --no-fund --ignore-scripts --loglevel=error
    touch "$stamp"
  fi
  node_rp=yes
}

# Sets browser to the Chromium to test with (installing it if it can), empty when there is none.
ensure_browser() {
  browser=${SMV_BROWSER:-$default_browser}
  [ -x "$browser" ] || install_browser
  [ -x "$browser" ] || browser=""
}

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a DynamoDB server (moto) on a free loopback port, logging to $target_dir/$1.log. Sets
# dynamodb_endpoint and dynamodb_pid; the caller's EXIT trap must kill $dynamodb_pid.
start_dynamodb() {
  local log="$target_dir/$1.log" port
  port=$(free_port)
  "$venv/bin/python" scripts/dynamodb_server.py "$port" >"$log" 2>&1 &
  dynamodb_pid=$!
  dynamodb_endpoint="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$dynamodb_endpoint/moto-api/', timeout=1)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$dynamodb_pid" 2>/dev/null || { cat "$log"; echo "DynamoDB server (moto) did not start" >&2; exit 1; }
    sleep 0.2
  done
  echo "DynamoDB server (moto) did not answer at $dynamodb_endpoint" >&2
  exit 1
}

# Starts the smv-local binary $1 with PORT=0 (plus the caller's environment), logging to
# $target_dir/$2.{out,err}. Sets local_base and local_pid; the caller's EXIT trap must kill $local_pid.
start_local() {
  local binary=$1 name=$2
  PORT=0 "$binary" >"$target_dir/$name.out" 2>"$target_dir/$name.err" &
  local_pid=$!
  for _ in $(seq 1 300); do
    local_base=$(sed -n 's/^smv-local listening on //p' "$target_dir/$name.out")
    [ -n "$local_base" ] && return 0
    kill -0 "$local_pid" 2>/dev/null || { cat "$target_dir/$name.err"; echo "smv-local did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "smv-local did not print its address" >&2
  exit 1
}
