"""scripts/cost's arithmetic on a fixed input, each line worked out by hand (run by scripts/test)."""

import importlib.machinery
import importlib.util
import io
import json
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
loader = importlib.machinery.SourceFileLoader("cost", str(ROOT / "scripts" / "cost"))
spec = importlib.util.spec_from_loader("cost", loader)
cost = importlib.util.module_from_spec(spec)
loader.exec_module(cost)

RECORD = {
    "recorded_by": "hand",
    "recorded_at": "2026-12-02",
    "machine": "none",
    "secrets_by_function": {
        "StartVerifyFunction": ["A_SECRET_ARN", "B_SECRET_ARN"],
        "PollFunction": ["A_SECRET_ARN"],
    },
    "flows": {
        "plain": {
            "demo": ["+447911000001"],
            "verifications": 10,
            "per_verification": {
                "api_requests": {"StartVerifyFunction": 1, "PollFunction": 3},
                "handler_ms": {"StartVerifyFunction": 200, "PollFunction": 60},
                "read_units": 3,
                "write_units": 8,
                "kms_sign": 1,
                "log_bytes": 2000,
                "of_which_emf_bytes": 800,
                "infobip_calls": {"Verify": 1, "SimSwap": 1},
            },
        }
    },
}


class Options:
    rate = 100.0
    infobip_ms = 0.0
    memory_mb = 128
    access_log_bytes = 150


def by_item(record=RECORD, options=Options):
    flow = record["flows"]["plain"]
    return {item: (quantity, dollars) for item, quantity, _, dollars in cost.lines(record, flow, options)}


class CostArithmetic(unittest.TestCase):
    def test_each_line_per_million_verifications(self):
        lines = by_item()
        # 4 requests: $1.00 and $0.20 per million each.
        self.assertAlmostEqual(lines["API Gateway requests"][1], 4.00)
        self.assertAlmostEqual(lines["Lambda requests"][1], 0.80)
        # 260 ms at 128 MB = 0.0325 GB-s; x $0.0000133334 x 10^6.
        self.assertAlmostEqual(lines["Lambda compute"][0], 0.0325)
        self.assertAlmostEqual(lines["Lambda compute"][1], 0.43333550, places=6)
        # 8 WRU x $0.625 and 3 RRU x $0.125.
        self.assertAlmostEqual(lines["DynamoDB writes"][1], 5.00)
        self.assertAlmostEqual(lines["DynamoDB reads"][1], 0.375)
        # One Sign: $0.15 per 10,000.
        self.assertAlmostEqual(lines["KMS signatures"][1], 15.00)
        # 2000 bytes + 4 access log lines of 150 = 2600 bytes; x 10^6 = 2.6 GB at $0.50.
        self.assertAlmostEqual(lines["CloudWatch Logs"][0], 2600)
        self.assertAlmostEqual(lines["CloudWatch Logs"][1], 1.30)

    def test_secret_reads_follow_the_environments_the_rate_keeps_busy(self):
        # 100 starts/s: start 100 x 1 x 0.2 s = 20 environments x 2 keys; poll 100 x 3 x 0.02 s
        # = 6 environments x 1 key; 46 keys x 2 reads x 12 an hour = 1104 reads an hour, for
        # 360,000 verifications: 3066.67 reads per million, $0.05 per 10,000.
        quantity, dollars = by_item()["Secrets Manager"]
        self.assertAlmostEqual(quantity * 1e6, 3066.6667, places=3)
        self.assertAlmostEqual(dollars, 0.0153333, places=6)

    def test_infobip_latency_is_lambda_time(self):
        class Slow(Options):
            infobip_ms = 500.0

        # Two Infobip calls add 1 s: 1.26 s x 0.125 GB.
        self.assertAlmostEqual(by_item(options=Slow)["Lambda compute"][0], 0.1575)

    def test_levers(self):
        levers = dict((name.split(" (")[0], saving) for name, saving in cost.levers(RECORD["flows"]["plain"], Options))
        self.assertAlmostEqual(levers["sign with a key held by the function"], 15.00)
        # 1200 bytes of request log lines x 10^6 at $0.50 per GB.
        self.assertAlmostEqual(levers["ApplicationLogLevel WARN"], 0.60)
        # A poll: $1.00 + $0.20 + 20 ms x 0.125 GB ($0.0333335) + 1 RRU ($0.125) + its access log
        # line (150 bytes x 10^6 = 0.15 GB: $0.075).
        self.assertAlmostEqual(levers["one poll fewer"], 1.4333335, places=6)

    def test_the_access_log_line_is_read_from_the_template(self):
        template = "        Format: '{\"requestId\":\"$context.requestId\",\"status\":\"$context.status\"}'\n"
        line = '{"requestId":"Jc4XsgGmoAMEJ9w=","status":"200"}'
        self.assertEqual(cost.access_log_bytes(template), len(line) + 1)

    def test_the_script_prints_a_total_per_flow(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as flows:
            json.dump(RECORD, flows)
            flows.flush()
            out = io.StringIO()
            with redirect_stdout(out):
                totals = cost.main([flows.name, "--memory-mb", "128"])
        expected = sum(d for _, d in by_item(options=type("O", (Options,), {"access_log_bytes": cost.access_log_bytes((ROOT / "template.yaml").read_text())})).values())
        self.assertAlmostEqual(totals["plain"], expected)
        self.assertIn("plain (+447911000001; 10 recorded)", out.getvalue())


if __name__ == "__main__":
    unittest.main()
