"""An evaluator of IAM identity policies, following the IAM User Guide's "Policy evaluation logic".

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
An explicit Deny in any statement wins; otherwise some Allow must match; otherwise the request is implicitly
denied. A statement matches when its Action (or NotAction), its Resource (or NotResource) and every condition
match. Condition operators and the missing-key rules are those of
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

Tests use it to find the statement a role is missing, so anything it does not model (policy variables,
numeric/date/IP operators, permissions boundaries, SCPs, resource policies) raises rather than guessing an
answer: a silently permissive model would hide exactly the defects it is for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    """One authorization request: the action, the resource IAM checks (see reference.authorized_resource), and
    the request context's condition keys (a list for a multivalued key)."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Miss:
    """A statement that names the request's action but did not match it, and why."""

    statement: str
    effect: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """The outcome: ``allowed``; ``matched`` lists the statements (Allow or Deny) that matched the request."""

    request: Request
    allowed: bool
    matched: list[str]
    denied_by: list[str]
    misses: list[Miss]

    def explain(self) -> str:
        """Why: on a denial, the request and each statement that mentions its action but did not match."""
        r = self.request
        head = f"{r.action} on {r.resource!r} with context {dict(r.context)!r}"
        if self.allowed:
            return f"{head} is allowed by {', '.join(self.matched)}"
        if self.denied_by:
            return f"{head} is explicitly denied by {', '.join(self.denied_by)}"
        lines = [f"{head} is implicitly denied: no Allow statement matches."]
        if not self.misses:
            lines.append(f"No statement mentions {r.action}.")
        else:
            lines.append(f"Statements that mention {r.action} but do not match:")
            lines += [f"  - {m.statement} ({m.effect}): {m.reason}" for m in self.misses]
        return "\n".join(lines)


@functools.cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters (``:`` and ``/`` included), ``?`` any one character."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"\\A{body}\\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).match(value) is not None


def _strings(value: Any, where: str) -> list[str]:
    """A policy element that may be one string or a list of them (IAM accepts both)."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int):
            out.append(str(item))
        else:
            raise ValueError(f"{where}: {item!r} is not a string (unresolved intrinsic?)")
    return out


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated ARN parts matches, wildcards allowed in each part."""
    want, got = pattern.split(":", 5), value.split(":", 5)
    if len(want) != 6 or len(got) != 6:
        return False
    return all(_like(w, g) for w, g in zip(want, got, strict=True))


# The positive operators: does one request value match one policy value? Negations are "matches none".
_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": _like,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    """The request's values for ``key``: condition key names are case-insensitive."""
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else list(value)
    return None


def _condition(operator: str, key: str, wanted: list[str], context: Mapping[str, ContextValue]) -> bool:
    """One operator-key pair of a Condition block."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    values = _lookup(context, key)
    if base == "Null":
        # "true": the key must be absent; "false": present and not null.
        return (values is None) == (wanted[0].lower() == "true")
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    if positive not in _POSITIVE or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise ValueError(f"condition operator {operator!r} is not modelled")
    match = _POSITIVE[positive]

    def one(value: str) -> bool:
        hit = any(match(w, value) for w in wanted)
        return not hit if negated else hit

    if values is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True  # vacuously: every one of no values matches
        if qualifier == "ForAnyValue":
            return False
        return negated  # a positive operator fails on a missing key; a negated one holds
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if negated:
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _statements(documents: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    out: list[tuple[str, Mapping[str, Any]]] = []
    for d, document in enumerate(documents):
        statements = document["Statement"]
        statements = [statements] if isinstance(statements, Mapping) else statements
        for s, statement in enumerate(statements):
            sid = statement.get("Sid")
            out.append((f"document[{d}].Statement[{s}]" + (f" Sid {sid!r}" if sid else ""), statement))
    return out


def _one_of(statement: Mapping[str, Any], name: str, where: str) -> tuple[list[str], bool]:
    """The element's patterns and whether it is the Not form (NotAction/NotResource)."""
    if (name in statement) == (f"Not{name}" in statement):
        raise ValueError(f"{where}: needs exactly one of {name} and Not{name}")
    if name in statement:
        return _strings(statement[name], where), False
    return _strings(statement[f"Not{name}"], where), True


def evaluate(documents: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """IAM's decision on ``request`` under the identity policy ``documents`` (all attached to one principal)."""
    matched: list[str] = []
    allowed_by: list[str] = []
    denied_by: list[str] = []
    misses: list[Miss] = []
    for where, statement in _statements(documents):
        effect = statement["Effect"]
        if effect not in ("Allow", "Deny"):
            raise ValueError(f"{where}: Effect {effect!r}")
        actions, not_action = _one_of(statement, "Action", where)
        named = any(_like(a, request.action, ignore_case=True) for a in actions)
        if named == not_action:
            continue
        resources, not_resource = _one_of(statement, "Resource", where)
        if any(_like(r, request.resource) for r in resources) == not_resource:
            element = "NotResource" if not_resource else "Resource"
            misses.append(Miss(where, effect, f"resource mismatch: {element} {resources} vs {request.resource!r}"))
            continue
        failed = [
            f"{operator} {key} {wanted} vs request {_lookup(request.context, key) or 'absent'}"
            for operator, block in statement.get("Condition", {}).items()
            for key, value in block.items()
            if not _condition(operator, key, wanted := _strings(value, where), request.context)
        ]
        if failed:
            misses.append(Miss(where, effect, "condition failed: " + "; ".join(failed)))
            continue
        matched.append(where)
        (denied_by if effect == "Deny" else allowed_by).append(where)
    return Decision(request, bool(allowed_by) and not denied_by, matched, denied_by, misses)
