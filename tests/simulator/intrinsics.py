"""CloudFormation's intrinsic functions and conditions over a template and the resources created so far.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .aws import ACCOUNT, REGION

NO_VALUE = object()
# The account's pseudo parameters; the stack's own (AWS::StackName, AWS::StackId, new with every create) come from
# the stack (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html).
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Resolves a template's values; ``ref``/``get_att`` answer for resources (KeyError: not yet created)."""

    def __init__(
        self,
        template: Mapping[str, Any],
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
        stack: Mapping[str, str] | None = None,
    ) -> None:
        """``template`` gives parameters, mappings and conditions; ``stack`` the stack's pseudo parameters."""
        self.template = template
        self.ref = ref
        self.get_att = get_att
        self.pseudo = {**PSEUDO, **(stack or {})}
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        """A named condition's value."""
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated; AWS::NoValue removes the key or item."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            if arg == "AWS::NoValue":
                return NO_VALUE
            if arg in self.pseudo:
                return self.pseudo[arg]
            if arg in self.template.get("Parameters", {}):
                return self.template["Parameters"][arg].get("Default", "")
            return self.ref(arg)
        if name == "Fn::GetAtt":
            logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
            return self.get_att(logical, self.resolve(attribute))
        if name == "Condition":
            return self.condition(arg)
        if name == "Fn::If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self.condition(condition) else when_false)
        args = self.resolve(arg)
        functions: dict[str, Callable[[Any], Any]] = {
            "Fn::Join": lambda a: a[0].join(str(x) for x in a[1]),
            "Fn::Split": lambda a: a[1].split(a[0]),
            "Fn::Select": lambda a: a[1][int(a[0])],
            "Fn::Equals": lambda a: a[0] == a[1],
            "Fn::Or": any,
            "Fn::And": all,
            "Fn::Not": lambda a: not a[0],
            "Fn::GetAZs": lambda a: [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
            "Fn::Base64": lambda a: a,
            "Fn::FindInMap": lambda a: self.template["Mappings"][a[0]][a[1]][a[2]],
            "Fn::Sub": self._sub,
        }
        return functions[name](args)

    def _sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self.get_att(logical, attribute))
            return str(self._function("Ref", name))

        return _SUB.sub(value, text)


def references(value: Any) -> set[str]:
    """Logical ids ``value`` refers to (Ref, Fn::GetAtt, Fn::Sub), for the dependency order."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item.split(".")[0] if isinstance(item, str) else item[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".")[0] for name in _SUB.findall(text)}
                if not isinstance(item, str):
                    found |= references(item[1])
            else:
                found |= references(item)
    return found


def order(template: Mapping[str, Any]) -> list[str]:
    """Resources in an order where each comes after what it refers to or DependsOn (CloudFormation's rule:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html)."""
    resources = template["Resources"]
    needs: dict[str, set[str]] = {}
    for logical, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        needs[logical] = (references(resource.get("Properties", {})) | set(depends)) & set(resources)
    done: list[str] = []
    while len(done) < len(resources):
        ready = sorted(x for x in resources if x not in done and needs[x] <= set(done))
        assert ready, f"dependency cycle among {sorted(set(resources) - set(done))}"
        done.extend(ready)
    return done
