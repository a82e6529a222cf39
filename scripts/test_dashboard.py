#!/usr/bin/env python3
"""The dashboard drawing's arithmetic (scripts/dashboard.py) on fixed EMF input: each EMF
dimension set is a series of its own, as CloudWatch stores it; expressions and SEARCH evaluate as
CloudWatch's would; the template's dashboard parses. Run by scripts/test (stdlib only)."""

import importlib.util
import json
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("dashboard", ROOT / "scripts" / "dashboard.py")
dashboard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dashboard)


def emf(ts, metric, value, dims, **values):
    return json.dumps({"_aws": {"Timestamp": ts, "CloudWatchMetrics": [{
        "Namespace": dashboard.NAMESPACE, "Dimensions": dims,
        "Metrics": [{"Name": metric, "Unit": "Count"}]}]}, metric: value, **values})


LINES = [
    emf(1_000, "VerificationsStarted", 1, [[], ["Method"], ["Method", "Country"]], Method="silent", Country="GB"),
    emf(2_000, "VerificationsStarted", 1, [[], ["Method"], ["Method", "Country"]], Method="silent", Country="BR"),
    emf(3_000, "Results", 1, [["Outcome"], ["Outcome", "Method"], ["Outcome", "Method", "Country"]],
        Outcome="VALID", Method="silent", Country="GB"),
    emf(12_000, "VerificationsStarted", 1, [[], ["Method"], ["Method", "Country"]], Method="silent", Country="GB"),
    "not json, a log line",
]


class Dashboard(unittest.TestCase):
    def setUp(self):
        with tempfile.NamedTemporaryFile("w", suffix=".out", delete=False) as f:
            f.write("\n".join(LINES))
        self.points = dashboard.load_emf(Path(f.name))
        self.store = dashboard.Store(self.points, 10_000)

    def test_each_dimension_set_is_a_series(self):
        # 3 documents x 3 dimension sets for the starts, 3 for the result.
        self.assertEqual(len(self.points), 12)
        self.assertEqual(self.store.get(dashboard.NAMESPACE, "VerificationsStarted", (), "Sum"), {0: 2, 1: 1})
        by_method = self.store.get(dashboard.NAMESPACE, "VerificationsStarted", (("Method", "silent"),), "Sum")
        self.assertEqual(by_method, {0: 2, 1: 1})

    def test_expressions_fill_and_divide(self):
        started = self.store.get(dashboard.NAMESPACE, "VerificationsStarted", (), "Sum")
        valid = self.store.get(dashboard.NAMESPACE, "Results", (("Outcome", "VALID"),), "Sum")
        conversion = dashboard.evaluate("100*FILL(valid,0)/started", {"valid": valid, "started": started},
                                        self.store.buckets)
        self.assertEqual(conversion, {0: 50.0, 1: 0.0})
        # Without FILL a bucket missing in one series is missing in the result.
        self.assertEqual(dashboard.evaluate("100*valid/started", {"valid": valid, "started": started},
                                            self.store.buckets), {0: 50.0})
        for hostile in ["__import__('os')", "valid.__class__", "FILL(valid, 0).points", "nope / 2"]:
            with self.assertRaises(ValueError, msg=hostile):
                dashboard.evaluate(hostile, {"valid": valid}, self.store.buckets)

    def test_search_matches_the_schema_exactly_and_filters(self):
        found = dict(self.store.search('{SilentMobileVerification,Method,Country} MetricName="VerificationsStarted"', "Sum"))
        self.assertEqual(found, {"silent GB": {0: 1, 1: 1}, "silent BR": {0: 1}})
        valid = dict(self.store.search(
            '{SilentMobileVerification,Country,Method,Outcome} MetricName="Results" Outcome="VALID"', "Sum"))
        self.assertEqual(valid, {"GB silent": {0: 1}})

    def test_percentiles(self):
        self.assertEqual(dashboard.statistic([5, 1, 3, 2, 4], "p50"), 3)
        self.assertEqual(dashboard.statistic(list(range(1, 101)), "p95"), 95)

    def test_the_templates_dashboard_parses_and_every_widget_draws(self):
        body = dashboard.dashboard_body((ROOT / "template.yaml").read_text())
        metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
        self.assertGreater(len(metric_widgets), 10)
        for widget in metric_widgets:
            lines, note = dashboard.widget_lines(widget, self.store)
            self.assertTrue(lines or note, widget["properties"]["title"])
        html = dashboard.render(body, self.store, 20, "caption")
        self.assertIn("Conversion: VALID / started, %", html)


if __name__ == "__main__":
    sys.exit(unittest.main())
