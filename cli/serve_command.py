"""``dq serve``: the HTTP API on this machine (local_host/serve.py), with the embedded stores by default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.output import DEFAULT_HOME, EXIT_OK


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()  # a server's output is read while it runs


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:  # noqa: PLR2004 - the largest TCP port
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535; 0 picks a free one)")
    return int(text)


def cmd_serve(args: argparse.Namespace) -> int:
    from local_host import serve as serving  # noqa: PLC0415 - uvicorn and the API load for this command only

    options = serving.ServeOptions(
        host=args.host, port=args.port, home=args.home, libraries=args.libraries, log_level=args.log_level
    )
    serving.serve(options, say=_say)
    return EXIT_OK


def add_serve_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="serve the HTTP API locally (the Functions app's routes; runs through the local orchestrator)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=7071, help="TCP port (default: 7071, as the Functions host)")
    serve.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (default: .dq)")
    serve.add_argument(
        "--libraries", type=Path, help="sync these authoring files into the registry first (new versions as drafts)"
    )
    serve.add_argument(
        "--log-level", choices=("critical", "error", "warning", "info", "debug"), default="info", help="server log"
    )
    serve.set_defaults(handler=cmd_serve)
