"""DynamoDB for the tests: moto's server on a loopback port, one request at a time.

DynamoDB applies each conditional write atomically. moto's threaded server does not lock around
a check and its write, so two racing conditional updates could both succeed there and the race
tests would test moto, not our code. Serialising requests restores DynamoDB's guarantee.

Usage: dynamodb_server.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    run_simple("127.0.0.1", port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
