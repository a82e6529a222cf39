#!/usr/bin/env python3
"""Draws the stack's CloudWatch dashboard (template.yaml, resource Dashboard) as CloudWatch would
lay it out, with the EMF metrics a local run wrote (smv-local's stdout with LOCAL_LAMBDA_LOGS),
and screenshots it with headless Chromium. Used by scripts/dashboard for the README's picture.

  dashboard.py TEMPLATE EMF_LOG OUT_PNG CHROMIUM [--period SECONDS]

A local run lasts minutes, so every widget's period is replaced by --period (default 15 s).
Metrics only AWS has (API Gateway, Lambda, DynamoDB) are drawn as empty widgets that say so.
Supported: metric rows with dimensions, `visible`, `id`, `label`, `stat` (Sum, Average, Maximum,
Minimum, SampleCount, pNN); expressions of ids with + - * / and FILL(id, 0); SEARCH over our
namespace with a dimension schema, MetricName and dimension filters.
"""

import html
import json
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

NAMESPACE = "SilentMobileVerification"
COLUMN_PX, ROW_PX = 52, 34
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def dashboard_body(template: str) -> dict:
    """The DashboardBody of the Dashboard resource, its ${...} substitutions named plainly."""
    lines = template.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("DashboardBody: !Sub |"))
    body = []
    for line in lines[start + 1:]:
        if line.strip() and not line.startswith(" " * 8):
            break
        body.append(line)
    text = re.sub(r"\$\{([A-Za-z:]+)\}", lambda m: m.group(1).replace("AWS::", ""), "\n".join(body))
    return json.loads(text)


def load_emf(path: Path) -> list:
    """(timestamp ms, namespace, metric, dimensions as a sorted tuple of pairs, value) for each
    metric of each dimension set of each EMF document, as CloudWatch would store them."""
    points = []
    for raw in path.read_bytes().replace(b"\0", b"").splitlines():
        if b'"_aws"' not in raw:
            continue
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        meta = doc["_aws"]
        for directive in meta["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = tuple(sorted((d, str(doc[d])) for d in dimension_set))
                for metric in directive["Metrics"]:
                    values = doc.get(metric["Name"])
                    for value in values if isinstance(values, list) else [values]:
                        if isinstance(value, (int, float)):
                            points.append((meta["Timestamp"], directive["Namespace"], metric["Name"], dims, value))
    return points


def statistic(values: list, stat: str) -> float:
    if stat == "Sum":
        return sum(values)
    if stat == "Average":
        return sum(values) / len(values)
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    if stat == "SampleCount":
        return float(len(values))
    if re.fullmatch(r"p\d+(\.\d+)?", stat):
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, math.ceil(float(stat[1:]) / 100 * len(ordered)) - 1)]
    raise ValueError(f"unsupported statistic {stat}")


class Store:
    def __init__(self, points: list, period_ms: int):
        self.period_ms = period_ms
        self.series = defaultdict(lambda: defaultdict(list))
        for ts, namespace, metric, dims, value in points:
            self.series[(namespace, metric, dims)][ts // period_ms].append(value)
        buckets = [ts // period_ms for ts, *_ in points]
        self.buckets = list(range(min(buckets), max(buckets) + 1)) if buckets else []

    def get(self, namespace: str, metric: str, dims: tuple, stat: str) -> dict:
        found = self.series.get((namespace, metric, tuple(sorted(dims))), {})
        return {b: statistic(v, stat) for b, v in found.items()}

    def search(self, query: str, stat: str) -> list:
        """SEARCH('{Namespace,Dim,...} MetricName="X" Dim="v"', stat, period)."""
        schema = re.match(r"\{([^}]*)\}", query)
        if not schema:
            raise ValueError(f"unsupported SEARCH {query}")
        namespace, *dimensions = [s.strip() for s in schema.group(1).split(",")]
        filters = dict(re.findall(r'(\w+)="([^"]*)"', query[schema.end():]))
        metric = filters.pop("MetricName", None)
        found = []
        for (ns, name, dims), _ in sorted(self.series.items()):
            names = dict(dims)
            if ns != namespace or (metric and name != metric) or sorted(names) != sorted(dimensions):
                continue
            if all(names.get(k) == v for k, v in filters.items()):
                label = " ".join(names[d] for d in dimensions if d not in filters)
                found.append((label, self.get(ns, name, dims, stat)))
        return found


class Series:
    """A time series in expression arithmetic: missing buckets stay missing unless FILLed."""

    def __init__(self, points: dict, buckets: list):
        self.points, self.buckets = points, buckets

    def fill(self, value: float) -> "Series":
        return Series({b: self.points.get(b, value) for b in self.buckets}, self.buckets)

    def _op(self, other, f):
        if isinstance(other, Series):
            keys = self.points.keys() & other.points.keys()
            out = {b: f(self.points[b], other.points[b]) for b in keys}
        else:
            out = {b: f(v, other) for b, v in self.points.items()}
        return Series({b: v for b, v in out.items() if v is not None}, self.buckets)

    def __add__(self, o): return self._op(o, lambda a, b: a + b)
    def __radd__(self, o): return self._op(o, lambda a, b: b + a)
    def __sub__(self, o): return self._op(o, lambda a, b: a - b)
    def __mul__(self, o): return self._op(o, lambda a, b: a * b)
    def __rmul__(self, o): return self._op(o, lambda a, b: b * a)
    def __truediv__(self, o): return self._op(o, lambda a, b: a / b if b else None)


TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_]\w*)|([-+*/(),]))")


def evaluate(expression: str, ids: dict, buckets: list) -> dict:
    """Arithmetic over ids, numbers and FILL(id, n), evaluated with Series operators: the
    expression is rebuilt from its tokens (numbers, names, + - * / ( ) ,), so nothing else
    (no attribute, no call but FILL) reaches eval."""
    names = {"FILL": lambda series, value: series.fill(value)}
    names.update({f"m_{k}": Series(v, buckets) for k, v in ids.items()})
    python, at = [], 0
    while at < len(expression.rstrip()):
        token = TOKEN.match(expression, at)
        if not token:
            raise ValueError(f"unsupported expression {expression}")
        number, name, operator = token.groups()
        if name and name != "FILL" and f"m_{name}" not in names:
            raise ValueError(f"{expression}: unknown id {name}")
        python.append(number or operator or (name if name == "FILL" else f"m_{name}"))
        at = token.end()
    result = eval(" ".join(python), {"__builtins__": {}}, names)
    return result.points if isinstance(result, Series) else {}


def widget_lines(widget: dict, store: Store) -> tuple:
    """([(label, {bucket: value})], note): the visible lines of a metric widget."""
    props = widget["properties"]
    default_stat = props.get("stat", "Average")
    ids, lines, expressions, foreign = {}, [], [], set()
    for row in props["metrics"]:
        options = row[-1] if isinstance(row[-1], dict) else {}
        if "expression" in options:
            expressions.append(options)
            continue
        parts = row[:-1] if options else row
        namespace, metric, rest = parts[0], parts[1], parts[2:]
        if namespace != NAMESPACE:
            foreign.add(namespace)
            continue
        dims = tuple(zip(rest[::2], rest[1::2]))
        series = store.get(namespace, metric, dims, options.get("stat", default_stat))
        if "id" in options:
            ids[options["id"]] = series
        if options.get("visible", True):
            lines.append((options.get("label", metric), series))
    for options in expressions:
        expression = options["expression"]
        if expression.startswith("SEARCH("):
            query, stat = re.match(r"SEARCH\('(.*)',\s*'(\w+)'", expression).groups()
            lines.extend(store.search(query.replace('\\"', '"'), stat))
        else:
            lines.insert(0, (options.get("label", options["id"]), evaluate(expression, ids, store.buckets)))
    note = ""
    if foreign:
        note = f"{', '.join(sorted(foreign))}: AWS's own metrics, not available in a local run"
    elif not any(series for _, series in lines):
        note = "no data in this run"
    return lines, note


def svg_chart(lines: list, buckets: list, seconds: float, width: int, height: int, y_axis: dict) -> str:
    values = [v for _, s in lines for v in s.values()]
    low = y_axis.get("min", min([0.0] + values))
    high = y_axis.get("max", max(values) if values else 1.0) or 1.0
    if high <= low:
        high = low + 1
    left, right, top, bottom = 44, 8, 6, 18
    w, h = width - left - right, height - top - bottom
    span = max(1, len(buckets) - 1)

    def xy(bucket, value):
        x = left + (buckets.index(bucket) / span) * w
        y = top + h - (value - low) / (high - low) * h
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg width="{width}" height="{height}">',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#ccc"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#ccc"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{high:.4g}</text>',
             f'<text x="{left - 4}" y="{top + h}" text-anchor="end">{low:.4g}</text>']
    if buckets:
        parts.append(f'<text x="{left}" y="{height - 4}">0 s</text>')
        parts.append(f'<text x="{left + w}" y="{height - 4}" text-anchor="end">{seconds:.0f} s</text>')
    for i, (_, series) in enumerate(lines):
        ordered = [b for b in buckets if b in series]
        if not ordered:
            continue
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(xy(b, series[b]) for b in ordered)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{path}"/>')
        if len(ordered) == 1:
            x, y = xy(ordered[0], series[ordered[0]]).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def render(body: dict, store: Store, seconds: float, caption: str) -> str:
    boxes = []
    for widget in body["widgets"]:
        x, y = widget["x"] * COLUMN_PX, widget["y"] * ROW_PX
        w, h = widget["width"] * COLUMN_PX - 8, widget["height"] * ROW_PX - 8
        style = f"left:{x}px;top:{y}px;width:{w}px;height:{h}px"
        props = widget["properties"]
        if widget["type"] == "text":
            text = html.escape(props["markdown"]).replace("## ", "").split("\n")
            boxes.append(f'<div class="w text" style="{style}"><h1>{text[0]}</h1><p>{" ".join(text[1:])}</p>'
                         f'<p class="cap">{html.escape(caption)}</p></div>')
            continue
        lines, note = widget_lines(widget, store)
        legend = "".join(
            f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{html.escape(label or "(all)")}</span>'
            for i, (label, _) in enumerate(lines))
        chart = svg_chart(lines, store.buckets, seconds, w - 12, h - 62, props.get("yAxis", {}).get("left", {}))
        note_html = f'<div class="note">{html.escape(note)}</div>' if note else ""
        boxes.append(f'<div class="w" style="{style}"><h2>{html.escape(props.get("title", ""))}</h2>'
                     f'{chart}{note_html}<div class="legend">{legend}</div></div>')
    height = max(w["y"] + w["height"] for w in body["widgets"]) * ROW_PX
    return f"""<!doctype html><meta charset="utf-8"><style>
body{{margin:0;font:11px sans-serif;background:#f2f3f3}} #d{{position:relative;width:{24 * COLUMN_PX}px;height:{height}px;margin:8px}}
.w{{position:absolute;background:#fff;border:1px solid #d5dbdb;padding:4px 6px;box-sizing:border-box;overflow:hidden}}
h1{{font-size:16px;margin:2px 0}} h2{{font-size:12px;margin:0 0 2px}} p{{margin:2px 0}} .cap{{color:#555}}
svg text{{font-size:9px;fill:#555}} .legend span{{margin-right:8px;white-space:nowrap}}
.legend i{{display:inline-block;width:10px;height:3px;margin-right:3px;vertical-align:middle}}
.note{{position:absolute;top:40%;width:90%;text-align:center;color:#888}}</style>
<div id="d">{"".join(boxes)}</div>"""


def main() -> None:
    args = sys.argv[1:]
    period = 15
    if "--period" in args:
        i = args.index("--period")
        period = int(args[i + 1])
        del args[i:i + 2]
    template, emf_log, out, chromium = args
    body = dashboard_body(Path(template).read_text())
    points = load_emf(Path(emf_log))
    if not points:
        raise SystemExit(f"{emf_log} has no EMF metrics: run smv-local with LOCAL_LAMBDA_LOGS=true")
    store = Store(points, period * 1000)
    seconds = len(store.buckets) * period
    caption = (f"Drawn by scripts/dashboard from template.yaml's dashboard and the EMF metrics of a "
               f"local run ({len(points)} data points over {seconds} s, each period shortened to {period} s).")
    page = Path(out).with_suffix(".html")
    page.write_text(render(body, store, seconds, caption))
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        tab = browser.new_page(viewport={"width": 24 * COLUMN_PX + 16, "height": 800})
        tab.goto(page.resolve().as_uri())
        tab.locator("#d").screenshot(path=out)
        browser.close()
    page.unlink()
    print(f"{out}: {len(body['widgets'])} widgets, {len(points)} data points")


if __name__ == "__main__":
    main()
