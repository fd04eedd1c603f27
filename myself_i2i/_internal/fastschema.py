"""A quick "certainly valid" pre-check for our JSON Schemas, so jsonschema is rarely loaded.

``import jsonschema`` costs ~80 ms (referencing, attrs, rpds, its format checkers): a
third of a CLI verify. Almost every pledge we read is valid, so :func:`compile_schema`
turns a schema into a predicate that answers, for the subset of Draft 2020-12 our schemas
use, with three values:

* ``True``: valid under Draft 2020-12 (the keyword semantics of jsonschema, including its
  rule that ``True`` is not ``1``);
* ``False``: invalid;
* ``None``: not sure (a keyword value or an instance this module does not decide).

Only ``True`` is acted on: anything else goes to jsonschema, which stays the authority and
writes the error messages. A schema using a keyword not listed in :data:`_KEYWORDS`
cannot be compiled at all (:class:`Unsupported`), and then jsonschema does everything.
``tests/_internal/test_fastschema.py`` checks the two agree on many valid and broken pledges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

Verdict = bool | None
Predicate = Callable[[Any], Verdict]

#: Keywords this module decides; ``title`` and the like are annotations only.
_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$defs", "$comment", "title", "description",
        "type", "const", "enum", "properties", "required", "additionalProperties",
        "minProperties", "items", "minItems", "maxItems", "uniqueItems",
        "minLength", "maxLength", "pattern", "minimum", "maximum",
        "format", "$ref", "allOf", "if", "then", "else",
        "contentEncoding", "contentMediaType", "examples", "default", "deprecated",
    }
)  # fmt: skip

# RFC 3339 date-time, the strict common form: anything else is "not sure".
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$"
)


class Unsupported(Exception):
    """The schema uses something :func:`compile_schema` does not decide."""


def _is_type(value: Any, name: str) -> bool:
    # jsonschema's Draft 2020-12 type checker: bool is not a number, 1.0 is an integer
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise Unsupported(f"type {name!r}")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _equal(a: Any, b: Any) -> Verdict:
    """jsonschema's equality for scalars (``True != 1``, ``1 == 1.0``); None for others."""
    if not (_scalar(a) and _scalar(b)):
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    return bool(a == b)


def _date_time_ok(value: str) -> bool:
    m = _DATE_TIME.match(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        date(year, month, day)
    except ValueError:
        return False
    if hour > 23 or minute > 59 or second > 59:  # a leap second is "not sure"
        return False
    offset_ok = m.group(9) is None or (int(m.group(9)) <= 23 and int(m.group(10)) <= 59)
    return offset_ok


def _all(results: list[Verdict]) -> Verdict:
    if any(r is False for r in results):
        return False
    if any(r is None for r in results):
        return None
    return True


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Predicate] = {}

    def ref(self, pointer: str) -> Predicate:
        if pointer in self.refs:
            return self.refs[pointer]
        if not pointer.startswith("#/$defs/") or "/" in pointer[len("#/$defs/") :]:
            raise Unsupported(f"$ref {pointer!r}")
        target = self.root.get("$defs", {}).get(pointer[len("#/$defs/") :])
        if not isinstance(target, dict):
            raise Unsupported(f"$ref {pointer!r}")
        slot: list[Predicate] = []
        self.refs[pointer] = lambda v: slot[0](v)  # recursion-safe placeholder
        slot.append(self.compile(target))
        return self.refs[pointer]

    def compile(self, schema: Any) -> Predicate:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported("schema is not an object")
        unknown = set(schema) - _KEYWORDS
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        checks: list[Predicate] = []
        s = schema
        if "type" in s:
            names = s["type"] if isinstance(s["type"], list) else [s["type"]]
            for n in names:
                _is_type(None, n)  # raises Unsupported for a type name we do not know

            def type_(v: Any, names: list[str] = names) -> Verdict:
                return any(_is_type(v, n) for n in names)

            checks.append(type_)
        if "const" in s:
            const = s["const"]
            if not _scalar(const):
                raise Unsupported("non-scalar const")

            def const_(v: Any, c: Any = const) -> Verdict:
                return _equal(v, c)

            checks.append(const_)
        if "enum" in s:
            options = s["enum"]
            if not isinstance(options, list) or not all(_scalar(o) for o in options):
                raise Unsupported("non-scalar enum")

            def enum(v: Any, options: list[Any] = options) -> Verdict:
                if not _scalar(v):
                    return False  # a list or object never equals a scalar option
                return any(_equal(v, o) for o in options)

            checks.append(enum)
        checks.extend(self._object(s))
        checks.extend(self._array(s))
        checks.extend(self._string(s))
        checks.extend(self._number(s))
        if "$ref" in s:
            checks.append(self.ref(str(s["$ref"])))
        if "allOf" in s:
            parts = [self.compile(p) for p in s["allOf"]]

            def all_of(v: Any, parts: list[Predicate] = parts) -> Verdict:
                return _all([p(v) for p in parts])

            checks.append(all_of)
        if "if" in s:
            cond = self.compile(s["if"])
            then = self.compile(s.get("then", True))
            other = self.compile(s.get("else", True))

            def if_then(v: Any, cond: Predicate = cond, then: Predicate = then,
                        other: Predicate = other) -> Verdict:  # fmt: skip
                c = cond(v)
                if c is None:
                    return None
                return then(v) if c else other(v)

            checks.append(if_then)

        def check(v: Any, checks: list[Predicate] = checks) -> Verdict:
            result: Verdict = True
            for c in checks:
                r = c(v)
                if r is False:
                    return False
                if r is None:
                    result = None
            return result

        return check

    def _object(self, s: Mapping[str, Any]) -> list[Predicate]:
        out: list[Predicate] = []
        props = {k: self.compile(v) for k, v in s.get("properties", {}).items()}
        if props:

            def properties(v: Any) -> Verdict:
                if not isinstance(v, dict):
                    return True
                return _all([p(v[k]) for k, p in props.items() if k in v])

            out.append(properties)
        if "required" in s:
            required = list(s["required"])
            out.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
        if "additionalProperties" in s:
            extra = self.compile(s["additionalProperties"])

            def additional(v: Any) -> Verdict:
                if not isinstance(v, dict):
                    return True
                return _all([extra(v[k]) for k in v if k not in props])

            out.append(additional)
        if "minProperties" in s:
            n = int(s["minProperties"])
            out.append(lambda v: not isinstance(v, dict) or len(v) >= n)
        return out

    def _array(self, s: Mapping[str, Any]) -> list[Predicate]:
        out: list[Predicate] = []
        if "items" in s:
            item = self.compile(s["items"])
            out.append(lambda v: not isinstance(v, list) or _all([item(x) for x in v]))
        if "minItems" in s:
            lo = int(s["minItems"])
            out.append(lambda v: not isinstance(v, list) or len(v) >= lo)
        if "maxItems" in s:
            hi = int(s["maxItems"])
            out.append(lambda v: not isinstance(v, list) or len(v) <= hi)
        if s.get("uniqueItems") is True:

            def unique(v: Any) -> Verdict:
                if not isinstance(v, list):
                    return True
                if not all(isinstance(x, str) for x in v):
                    return None  # jsonschema's own equality decides mixed lists
                return len(set(v)) == len(v)

            out.append(unique)
        elif "uniqueItems" in s and s["uniqueItems"] is not False:
            raise Unsupported("uniqueItems")
        return out

    def _string(self, s: Mapping[str, Any]) -> list[Predicate]:
        out: list[Predicate] = []
        if "minLength" in s:
            lo = int(s["minLength"])
            out.append(lambda v: not isinstance(v, str) or len(v) >= lo)
        if "maxLength" in s:
            hi = int(s["maxLength"])
            out.append(lambda v: not isinstance(v, str) or len(v) <= hi)
        if "pattern" in s:
            rx = re.compile(s["pattern"])
            out.append(lambda v: not isinstance(v, str) or rx.search(v) is not None)
        if "format" in s:
            if s["format"] != "date-time":
                raise Unsupported(f"format {s['format']!r}")
            # valid whether or not jsonschema checks formats; anything else: not sure
            out.append(lambda v: True if not isinstance(v, str) or _date_time_ok(v) else None)
        return out

    def _number(self, s: Mapping[str, Any]) -> list[Predicate]:
        out: list[Predicate] = []
        for key in ("minimum", "maximum"):
            if key not in s:
                continue
            bound = s[key]
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                raise Unsupported(key)

            def limit(v: Any, bound: float = bound, low: bool = key == "minimum") -> Verdict:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    return True
                if isinstance(v, float) and not math.isfinite(v):
                    return None
                return v >= bound if low else v <= bound

            out.append(limit)
        return out


def compile_schema(schema: Mapping[str, Any]) -> Predicate:
    """The tri-state predicate of ``schema`` (see the module docstring).

    Raises:
        Unsupported: the schema uses a keyword or a value this module does not decide.
    """
    return _Compiler(schema).compile(dict(schema))
