#!/usr/bin/env python3
"""Checks execmond stream lines against proto/stream.schema.json.

    validate_stream.py [--schema FILE] [--expect-invalid] [--markdown] [FILE ...]
                                                      (no FILE: stdin)

Each input line is one line the daemon wrote (empty lines are ignored). Exit
status 0 when every line is a JSON object the schema accepts; otherwise 1,
with the first failing line, its number and why on stdout. Prints
"ok: N lines" on success. With --expect-invalid every line must be rejected
(the schema's own negative tests, tests/schema/invalid.jsonl). With
--markdown the files are Markdown and the lines checked are those of its
```json blocks (docs/protocol.md's examples). Needs the jsonschema module (python3-jsonschema).
"""

import argparse
import collections
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "proto", "stream.schema.json")


def load_validator(path):
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def leaf_errors(errors):
    for e in errors:
        if e.context:
            yield from leaf_errors(e.context)
        else:
            yield e


def check(validator, text):
    """(the line's type, why it is not a valid stream line or None)."""
    try:
        value = json.loads(text)
    except ValueError as e:
        return None, f"not JSON: {e}"
    kind = value.get("type") if isinstance(value, dict) else None
    errors = list(validator.iter_errors(value))
    if not errors:
        return kind, None
    # A failed member also leaves the members next to it "unevaluated":
    # report the member itself, not that echo.
    leaves = [e for e in leaf_errors(errors) if e.validator != "unevaluatedProperties"]
    best = jsonschema.exceptions.best_match(leaves or errors)
    where = "/".join(str(p) for p in best.absolute_path) or "(line)"
    return kind, f"{where}: {best.message}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schema", default=DEFAULT_SCHEMA)
    ap.add_argument("--expect-invalid", action="store_true", help="every line must be rejected")
    ap.add_argument("--markdown", action="store_true", help="check the lines of ```json blocks")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    validator = load_validator(args.schema)

    sources = args.files or ["-"]
    count = 0
    types = collections.Counter()
    for name in sources:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8", errors="surrogateescape")
        with f:
            in_block = not args.markdown
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if args.markdown and line.startswith("```"):
                    in_block = line.strip() == "```json"
                    continue
                if not line or not in_block:
                    continue
                kind, why = check(validator, line)
                if args.expect_invalid:
                    if why is None:
                        print(f"{name}:{number}: accepted, but should be invalid\n  line: {line}")
                        return 1
                    count += 1
                    types[kind] += 1
                    continue
                if why is not None:
                    shown = line if len(line) <= 2000 else line[:2000] + "..."
                    print(f"{name}:{number}: {why}\n  line: {shown}")
                    return 1
                count += 1
                types[kind] += 1
    summary = ", ".join(f"{n} {t}" for t, n in sorted(types.items(), key=lambda i: str(i[0])))
    print(f"ok: {count} lines {'rejected ' if args.expect_invalid else ''}({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
