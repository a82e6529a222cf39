"""DynamoDB (and KMS, Secrets Manager) for the tests: moto's server on a loopback port, one
request at a time.

DynamoDB applies each conditional write atomically. moto's threaded server does not lock around
a check and its write, so two racing conditional updates could both succeed there and the race
tests would test moto, not our code. Serialising requests restores DynamoDB's guarantee.

With --count it also counts every call by service and action, and the read and write units each
DynamoDB call would consume (DynamoDB's item-size rules), for scripts/count: GET /_counts reads
them, POST /_counts/reset starts again.

Usage: dynamodb_server.py PORT [--count]
"""

import base64
import io
import json
import math
import sys
import threading
from collections import defaultdict

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

# The table's key (template.yaml, store::TABLE_KEY): what a PutItem replaces.
TABLE_KEY = "token"


def value_size(value: dict) -> int:
    """DynamoDB's size of one attribute value, in bytes."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


class Counter:
    def __init__(self, app):
        self.app = app
        self.reset()

    def reset(self):
        self.calls = defaultdict(int)
        self.units = defaultdict(float)
        self.largest_item = 0

    def call(self, target: str, body: bytes, host: str):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "0",
            "HTTP_HOST": host,
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "HTTP_X_AMZ_TARGET": target,
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=count/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        }
        out = b"".join(self.app(environ, lambda *_: None))
        return json.loads(out or b"{}")

    def stored(self, table: str, key: dict, host: str) -> dict | None:
        """The item as stored now, read without counting it."""
        request = json.dumps({"TableName": table, "Key": key, "ConsistentRead": True}).encode()
        return self.call("DynamoDB_20120810.GetItem", request, host).get("Item")

    def dynamodb(self, action: str, request: dict, response_body: bytes, before: dict | None, after):
        """Units one call consumed: reads per 4 KB (half for an eventually consistent read),
        writes per 1 KB of the larger of the item before and after, at least one either way
        (a refused conditional write too)."""
        if action == "GetItem":
            item = json.loads(response_body or b"{}").get("Item")
            self.largest_item = max(self.largest_item, item_size(item))
            units = max(1, math.ceil(item_size(item) / 4096))
            self.units["RRU"] += units if request.get("ConsistentRead") else units / 2
        elif action in ("PutItem", "UpdateItem", "DeleteItem"):
            size = max(item_size(before), item_size(after))
            self.largest_item = max(self.largest_item, size)
            self.units["WRU"] += max(1, math.ceil(size / 1024))
        elif action in ("Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems"):
            raise ValueError(f"scripts/count does not know the units of DynamoDB {action}")
        # The rest (CreateTable, DescribeTable, ...) is the control plane: no units.

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_counts":
            if environ["REQUEST_METHOD"] == "POST":
                self.reset()
            body = json.dumps({"calls": self.calls, "units": self.units, "largestItemBytes": self.largest_item}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        host = environ.get("HTTP_HOST", "")
        service, _, action = target.partition(".")
        if not target:
            # Query-protocol and REST services name the action in the form or the path.
            service, action = "other", path
        request = json.loads(body or b"{}") if target else {}
        dynamodb = service.startswith("DynamoDB")
        key = None
        if dynamodb and action in ("PutItem", "UpdateItem", "DeleteItem"):
            key = request.get("Key") or {TABLE_KEY: request["Item"][TABLE_KEY]}
        before = self.stored(request["TableName"], key, host) if key else None
        status = []
        out = b"".join(self.app(environ, lambda s, h, *a: status.append(s) or start_response(s, h, *a)))
        if dynamodb:
            service = "DynamoDB"
            after = self.stored(request["TableName"], key, host) if key else None
            self.dynamodb(action, request, out, before, after)
        elif service == "TrentService":
            service = "KMS"
        self.calls[f"{service}.{action}"] += 1
        return [out]


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    if "--count" in sys.argv[2:]:
        app = Counter(app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    run_simple("127.0.0.1", port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
