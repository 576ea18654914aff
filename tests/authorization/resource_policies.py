"""Resource policies (a bucket policy, a KMS key policy): who may call, on top of policy.evaluate.

A resource policy's statements also name a ``Principal`` (or ``NotPrincipal``); a statement applies to a request
only when the request's principal is one of them. This module filters the statements by principal and leaves
everything else to policy.evaluate, unchanged:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html

Only what the library's templates need is modelled: service principals (``{"Service": ...}``), IAM ARNs and
account principals (``{"AWS": ...}``), and ``"*"``. Federated and canonical-user principals raise.

:func:`authorize` combines a principal's identity policies with a resource policy the way IAM does within one
account (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an explicit
Deny in either wins, otherwise an Allow in either suffices; an account principal (``arn:aws:iam::ACCOUNT:root``)
in a resource policy grants nothing by itself, it delegates to the account's identity policies. KMS is the
exception: a key policy must allow the request, either naming the principal or naming the account, and only in
the latter case do identity policies count
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .policy import Decision, Miss, Request, evaluate


@dataclass(frozen=True)
class Principal:
    """Who makes a request: ``kind`` is ``"Service"`` (``name`` a service principal such as
    ``logs.us-east-1.amazonaws.com``) or ``"AWS"`` (``name`` an IAM ARN, ``arn:aws:iam::123456789012:root`` for an
    account)."""

    kind: str
    name: str

    @classmethod
    def service(cls, name: str) -> Principal:
        """A service principal: ``Principal.service("logdelivery.elasticloadbalancing.amazonaws.com")``."""
        return cls("Service", name)

    @classmethod
    def aws(cls, arn_or_account: str) -> Principal:
        """An IAM principal by ARN; a bare 12-digit account id means that account's root."""
        return cls("AWS", _account_root(arn_or_account))

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def _account_root(value: str) -> str:
    return f"arn:aws:iam::{value}:root" if re.fullmatch(r"\d{12}", value) else value


def account_root(account: str) -> Principal:
    """The account principal of ``account``."""
    return Principal.aws(account)


def _names(value: Any, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"{where}: principal {value!r} is not a string (unresolved intrinsic?)")
    return list(items)


def principal_matches(element: Any, principal: Principal, where: str = "Principal") -> bool:
    """Whether a statement's Principal element names ``principal``. ``"*"`` and ``{"AWS": "*"}`` name everyone."""
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        raise ValueError(f"{where}: {element!r} is not a Principal element")
    for kind, value in element.items():
        if kind not in ("AWS", "Service"):
            raise ValueError(f"{where}: principal type {kind!r} is not modelled")
        names = _names(value, where)
        if kind == "AWS" and "*" in names:
            return True
        if kind == principal.kind:
            wanted = [_account_root(n) for n in names] if kind == "AWS" else names
            if principal.name in wanted:
                return True
    return False


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document["Statement"]
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _names_action(statement: Mapping[str, Any], action: str) -> bool:
    """Whether the statement's Action/NotAction element covers ``action`` (IAM wildcards, case-insensitive)."""
    key = "Action" if "Action" in statement else "NotAction"
    patterns = statement[key] if isinstance(statement[key], list) else [statement[key]]
    hit = any(
        re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p), action, re.I)
        for p in patterns
    )
    return hit != (key == "NotAction")


def evaluate_resource_policy(
    documents: Sequence[Mapping[str, Any]], request: Request, principal: Principal
) -> Decision:
    """policy.evaluate over the statements that apply to ``principal``; the others are reported as misses.

    A statement that does not apply keeps its position (so explain() names statements as the policy numbers
    them) but is made to match no action.
    """
    kept: list[dict[str, Any]] = []
    principal_misses: list[Miss] = []
    for d, document in enumerate(documents):
        statements: list[dict[str, Any]] = []
        for s, statement in enumerate(_statements(document)):
            where = f"document[{d}].Statement[{s}]" + (f" Sid {statement['Sid']!r}" if statement.get("Sid") else "")
            if ("Principal" in statement) == ("NotPrincipal" in statement):
                raise ValueError(f"{where}: a resource policy statement needs exactly one of Principal, NotPrincipal")
            if "Principal" in statement:
                applies = principal_matches(statement["Principal"], principal, where)
            else:
                applies = not principal_matches(statement["NotPrincipal"], principal, where)
            if applies:
                statements.append(dict(statement))
                continue
            if _names_action(statement, request.action):
                element = "Principal" if "Principal" in statement else "NotPrincipal"
                principal_misses.append(
                    Miss(
                        where,
                        str(statement["Effect"]),
                        f"principal mismatch: {element} {statement[element]} vs {principal}",
                    )
                )
            neutral = {k: v for k, v in statement.items() if k not in ("Action", "NotAction", "Condition")}
            statements.append({**neutral, "NotAction": "*"})
        kept.append({**document, "Statement": statements})
    decision = evaluate(kept, request)
    return replace(decision, misses=decision.misses + principal_misses)


@dataclass(frozen=True)
class Authorization:
    """The outcome of :func:`authorize`, with the decisions it was made from."""

    request: Request
    principal: Principal
    allowed: bool
    reason: str
    decisions: Mapping[str, Decision]

    def explain(self) -> str:
        """Why: the combined reason, then each policy's own explanation."""
        parts = [f"{self.principal}: {self.reason}"]
        parts += [f"[{name}] {decision.explain()}" for name, decision in self.decisions.items()]
        return "\n".join(parts)


def authorize(
    request: Request,
    principal: Principal,
    *,
    identity: Sequence[Mapping[str, Any]] | None = None,
    resource_policy: Sequence[Mapping[str, Any]] | None = None,
    key_policy: bool = False,
    account: str,
) -> Authorization:
    """IAM's same-account decision on ``request`` by ``principal``.

    ``identity``: the principal's identity policies (None for a service principal, which has none).
    ``resource_policy``: the resource's policy (None when the resource has none). ``key_policy``: the resource
    policy is a KMS key policy, which must allow the request itself (naming the principal, or naming the account
    and then the identity policies must allow it too).
    """
    decisions: dict[str, Decision] = {}
    if identity is not None:
        decisions["identity"] = evaluate(identity, request)
    if resource_policy is not None:
        decisions["resource policy"] = evaluate_resource_policy(resource_policy, request, principal)
        if key_policy and principal.kind == "AWS":
            decisions["key policy for the account"] = evaluate_resource_policy(
                resource_policy, request, account_root(account)
            )
    if key_policy and resource_policy is None:
        raise ValueError("a KMS call needs the key policy")
    denied = [name for name, d in decisions.items() if d.denied_by]
    if denied:
        return Authorization(request, principal, False, f"explicitly denied by the {', '.join(denied)}", decisions)
    by_resource = "resource policy" in decisions and decisions["resource policy"].allowed
    by_identity = "identity" in decisions and decisions["identity"].allowed
    if key_policy:
        delegated = "key policy for the account" in decisions and decisions["key policy for the account"].allowed
        if by_resource:
            return Authorization(request, principal, True, "the key policy allows the principal", decisions)
        if delegated and by_identity:
            return Authorization(
                request,
                principal,
                True,
                "the key policy allows the account and an identity policy allows it",
                decisions,
            )
        why = (
            "the key policy allows the account, but no identity policy allows the principal"
            if delegated
            else "the key policy allows neither the principal nor its account"
        )
        return Authorization(request, principal, False, f"implicitly denied: {why}", decisions)
    if by_resource or by_identity:
        which = "resource policy" if by_resource else "identity policy"
        return Authorization(request, principal, True, f"allowed by the {which}", decisions)
    return Authorization(request, principal, False, "implicitly denied: no policy allows it", decisions)
