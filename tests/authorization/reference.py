"""AWS's Service Authorization Reference, as cfn-lint keeps it (``cfnlint/data/AdditionalSpecs/Policies.json``).

Which resource an action authorizes on is AWS's published fact, not the policy author's choice: an action that
lists no resource types (ecs:ListServices) is authorized on ``"*"`` only, so a statement naming a cluster ARN for
it never matches. Tests ask this module instead of guessing, and the data is read from the installed cfn-lint
(never copied) so it follows cfn-lint's updates.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
# What each placeholder of an ARN format may stand for: the partition is never empty; region and account are
# empty for global resources (arn:aws:iam::123456789012:role/x, arn:aws:s3:::bucket); any other ${...} is one
# ARN field or path segment.
_PLACEHOLDER_PATTERNS = {"Partition": "[^:]+", "Region": "[^:]*", "Account": "[^:]*"}
_OTHER_PLACEHOLDER = "[^:]*"


def _split(action: str) -> tuple[str, str]:
    service, sep, name = action.partition(":")
    if not sep or not service or not name:
        raise KeyError(f"{action!r} is not an action of the form service:Action")
    return service.lower(), name.lower()


@dataclass(frozen=True)
class Reference:
    """The reference's services: ``{prefix: {"Actions": {...}, "Resources": {...}}}``."""

    services: Mapping[str, Any]

    def _action(self, action: str) -> Mapping[str, Any]:
        service, name = _split(action)
        try:
            entry: Mapping[str, Any] = self.services[service]["Actions"][name]
        except KeyError:
            raise KeyError(f"{action!r} is not in the Service Authorization Reference") from None
        return entry

    def resource_types(self, action: str) -> list[str]:
        """The resource types ``action`` (``"ecs:ListServices"``, any case) authorizes on; [] means ``"*"`` only."""
        return list(self._action(action).get("Resources", []))

    def arn_pattern(self, service: str, resource_type: str) -> re.Pattern[str]:
        """The anchored regex of ``resource_type``'s ARN formats (they are regexes already, with ${...} fields)."""
        # cfn-lint lowercases resource type names ("statemachine"); the reference spells them "stateMachine".
        types = {
            name.lower(): entry for name, entry in self.services.get(service.lower(), {}).get("Resources", {}).items()
        }
        if resource_type.lower() not in types:
            raise KeyError(f"{service}:{resource_type} is not a resource type in the reference")
        formats: list[str] = types[resource_type.lower()]["ARNFormats"]

        def field(match: re.Match[str]) -> str:
            return _PLACEHOLDER_PATTERNS.get(match.group(1), _OTHER_PLACEHOLDER)

        return re.compile("|".join(f"(?:{_PLACEHOLDER.sub(field, f)})" for f in formats).join(("\\A(?:", ")\\Z")))

    def arn_matches_type(self, service: str, resource_type: str, arn: str) -> bool:
        """Whether ``arn`` has the format of ``service``'s ``resource_type``."""
        return self.arn_pattern(service, resource_type).match(arn) is not None

    def authorized_resource(self, action: str, arns: Sequence[str]) -> str | list[str]:
        """The Resource IAM evaluates a call of ``action`` on ``arns`` against.

        ``"*"`` when the action lists no resource types (whatever ARNs the call names: the reference says IAM
        checks ``"*"`` for it); otherwise ``arns`` themselves, each checked to be one of the action's resource
        types, so a test cannot ask about a request AWS would never make.
        """
        types = self.resource_types(action)
        if not types:
            return "*"
        service, _ = _split(action)
        for arn in arns:
            if not any(self.arn_matches_type(service, t, arn) for t in types):
                raise ValueError(f"{arn!r} is none of {action}'s resource types {types}")
        return list(arns)


@functools.cache
def reference() -> Reference:
    """The reference, read once from the installed cfn-lint."""
    path = resources.files("cfnlint").joinpath("data", "AdditionalSpecs", "Policies.json")
    return Reference(json.loads(path.read_text(encoding="utf-8")))


def resource_types(action: str) -> list[str]:
    """:meth:`Reference.resource_types` of the installed reference."""
    return reference().resource_types(action)


def arn_matches_type(service: str, resource_type: str, arn: str) -> bool:
    """:meth:`Reference.arn_matches_type` of the installed reference."""
    return reference().arn_matches_type(service, resource_type, arn)


def authorized_resource(action: str, arns: Sequence[str]) -> str | list[str]:
    """:meth:`Reference.authorized_resource` of the installed reference."""
    return reference().authorized_resource(action, arns)
