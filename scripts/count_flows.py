"""Records what each kind of verification costs in requests and units, for scripts/cost.

Runs `smv-local demo` for each flow against a running smv-local (LOCAL_LAMBDA_LOGS=true, its stdout
in a file) whose DynamoDB, KMS and Secrets Manager are a counting moto (dynamodb_server.py
--count), and writes, per verification of each flow: the API requests and the handler time of
each function (from the functions' own `request served` log lines, mapped to functions by
template.yaml's routes), the DynamoDB calls and units, the KMS and Secrets Manager calls, and the
bytes of logs and metrics the functions wrote. Started by scripts/count.

Usage: count_flows.py API MOTO SMV_LOCAL STDOUT_FILE OUT_JSON [VERIFICATIONS_PER_FLOW]
"""

import json
import platform
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict

import yaml

# Each flow: what the app does, as `smv-local demo` arguments (numbers: README, The Infobip simulator).
FLOWS = {
    "silent": ["+447911000001"],
    "silent_assertion": ["+447911000001", "--assertion"],
    "pin_fallback_assertion": ["+447911000306", "--fallback", "sms", "--assertion"],
    # Germany is CAMARA in smv-local (README, Choosing the method).
    "camara_assertion": ["+4915100000001", "--method", "camara", "--assertion"],
    "sim_assertion": ["+4915100000001", "--method", "sim", "--assertion"],
}
# A relying party fetches the JWKS when it meets a new `kid`, not per verification: the demo
# fetches it every time, so it is recorded apart and left out of the per-verification figures.
PER_RELYING_PARTY = {"GET /.well-known/jwks.json"}
# Lines the local server writes that no function would: its Infobip simulator's.
NOT_A_FUNCTION = "simulator: "


class Template(yaml.SafeLoader):
    pass


Template.add_multi_constructor("!", lambda loader, tag, node: None)


def routes_by_function(path="template.yaml"):
    resources = yaml.load(open(path), Loader=Template)["Resources"]
    routes, secrets = {}, {}
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        for event in properties.get("Events", {}).values():
            if event.get("Type") == "HttpApi":
                routes[f"{event['Properties']['Method']} {event['Properties']['Path']}"] = name
        variables = properties.get("Environment", {}).get("Variables", {})
        secrets[name] = sorted(v for v in variables if v.endswith("_SECRET_ARN"))
    return routes, secrets


def moto_counts(moto, reset=False):
    request = urllib.request.Request(f"{moto}/_counts", method="POST" if reset else "GET")
    return json.load(urllib.request.urlopen(request))


def demo(smv_local, api, args):
    done = subprocess.run([smv_local, "demo", *args, "--api", api], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"smv-local demo {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def function_lines(stdout_file, offset):
    """The JSON lines the functions wrote after `offset`, and the new offset."""
    with open(stdout_file, "rb") as out:
        out.seek(offset)
        data = out.read()
    # Only whole lines: a line being written is read next time.
    end = data.rfind(b"\n") + 1
    lines = []
    for raw in data[:end].split(b"\n"):
        raw = raw.strip(b"\0 ")
        if not raw.startswith(b"{"):
            continue
        line = json.loads(raw)
        if line.get("fields", {}).get("message", "").startswith(NOT_A_FUNCTION):
            continue
        lines.append((len(raw) + 1, line))
    return lines, offset + end


def main():
    api, moto, smv_local, stdout_file, out_json = sys.argv[1:6]
    n = int(sys.argv[6]) if len(sys.argv) > 6 else 20
    routes, secrets = routes_by_function()
    # Warm up (first reads of every key, the JWKS's key) before anything is counted.
    demo(smv_local, api, FLOWS["silent_assertion"])
    time.sleep(1)
    warm_up = moto_counts(moto)
    offset = function_lines(stdout_file, 0)[1]
    flows = {}
    for flow, args in FLOWS.items():
        moto_counts(moto, reset=True)
        # One at a time, as the durations are recorded too (moto serialises every call). The
        # simulator's PIN inbox is one per number, too.
        for _ in range(n):
            demo(smv_local, api, args)
        time.sleep(1)  # the last callbacks' log lines
        counts = moto_counts(moto)
        lines, offset = function_lines(stdout_file, offset)
        requests, handler_ms = defaultdict(int), defaultdict(int)
        per_rp = defaultdict(int)
        log_bytes = emf_bytes = 0
        infobip_calls = defaultdict(int)
        for size, line in lines:
            log_bytes += size
            if "_aws" in line:
                emf_bytes += size
                if "InfobipLatency" in line:
                    infobip_calls[line["Api"]] += 1
            if line.get("fields", {}).get("message") != "request served":
                continue
            route = line["span"]["route"]
            if route in PER_RELYING_PARTY:
                per_rp[route] += 1
                continue
            function = routes[route]
            requests[function] += 1
            # Billed per started millisecond.
            handler_ms[function] += max(1, int(line["fields"]["latency_ms"]))
        flows[flow] = {
            "demo": args,
            "verifications": n,
            "per_verification": {
                "api_requests": {f: c / n for f, c in sorted(requests.items())},
                "handler_ms": {f: ms / n for f, ms in sorted(handler_ms.items())},
                "dynamodb_calls": {k: v / n for k, v in sorted(counts["calls"].items()) if k.startswith("DynamoDB.")},
                "read_units": counts["units"].get("RRU", 0) / n,
                "write_units": counts["units"].get("WRU", 0) / n,
                "kms_sign": counts["calls"].get("KMS.Sign", 0) / n,
                "log_bytes": log_bytes / n,
                "of_which_emf_bytes": emf_bytes / n,
                "infobip_calls": {api: c / n for api, c in sorted(infobip_calls.items())},
            },
            "left_out": {"per_relying_party_requests": dict(per_rp)},
            "largest_item_bytes": counts["largestItemBytes"],
        }
        print(f"{flow}: {json.dumps(flows[flow]['per_verification'])}")
    record = {
        "recorded_by": "scripts/count",
        "recorded_at": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, DynamoDB/KMS/Secrets Manager: moto (counting), Infobip: the simulator",
        "flows": flows,
        # Secrets Manager calls of the warm-up (each function's first use of its keys, AWSCURRENT
        # and AWSPREVIOUS of each), and the secrets each function reads as deployed.
        "secret_reads_at_first_use": warm_up["calls"].get("secretsmanager.GetSecretValue", 0),
        "secrets_by_function": secrets,
    }
    with open(out_json, "w") as out:
        json.dump(record, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    main()
