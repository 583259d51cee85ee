"""``dq schema``: the JSON Schema of an authoring kind, every kind's under ``schemas/``, and the
rule reference ``docs/rules.md``, all generated from the models (dq_core/authoring).

``dq schema rule_library`` prints one schema; ``dq schema --all --out schemas/`` writes one
file per kind; ``dq schema --rules-md docs/rules.md`` writes the reference. With ``--check``
nothing is written: the command exits 1 and names each file that differs from what the
models give (what the tests check, for CI or before a commit).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.output import EXIT_FAILED, EXIT_OK, _err, _out
from dq_core.authoring.json_schema import all_schema_files, schema_text
from dq_core.authoring.reference import render_rules_md
from dq_core.config.base import Kind
from dq_core.errors import OptionError


def _files(args: argparse.Namespace) -> dict[Path, str]:
    """Path -> the text the models give for it."""
    if args.rules_md is not None:
        return {args.rules_md: render_rules_md()}
    if args.all:
        if args.out is None:
            raise OptionError("--all: give the folder to write with --out (e.g. --out schemas/)")
        return {args.out / name: text for name, text in all_schema_files().items()}
    text = schema_text(Kind(args.kind))
    return {args.out: text} if args.out is not None else {}


def _stale(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") != text
    except OSError:
        return True


def cmd_schema(args: argparse.Namespace) -> int:
    files = _files(args)
    if not files:  # one kind, no --out: print it
        if args.check:
            raise OptionError("--check: give the file to compare with --out")
        _out(schema_text(Kind(args.kind)))
        return EXIT_OK
    if args.check:
        stale = [path for path, text in files.items() if _stale(path, text)]
        for path in stale:
            _err(f"stale: {path} differs from the models (write it with the same command without --check)")
        return EXIT_FAILED if stale else EXIT_OK
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        _out(f"wrote {path}")
    return EXIT_OK


def add_schema_parser(commands: Any) -> None:
    schema = commands.add_parser(
        "schema", help="JSON Schemas of the authoring kinds (for editors) and the rule reference, from the models"
    )
    what = schema.add_mutually_exclusive_group(required=True)
    kinds = [kind.value for kind in Kind]
    what.add_argument(
        "kind", nargs="?", choices=kinds, metavar="KIND", help="print this kind's JSON Schema: " + ", ".join(kinds)
    )
    what.add_argument("--all", action="store_true", help="every kind's schema, one file each, into --out FOLDER")
    what.add_argument("--rules-md", type=Path, metavar="FILE", help="write the rule reference (docs/rules.md)")
    schema.add_argument("--out", type=Path, help="the file (KIND) or folder (--all) to write")
    schema.add_argument("--check", action="store_true", help="write nothing: exit 1 if a file differs from the models")
    schema.set_defaults(handler=cmd_schema)
