"""CloudFormation's stack operations over the model: create, update (in place or by replacement), cleanup, rollback.

Rules, per "Update behaviors of stack resources"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html)
and "Stack status codes" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html):
* resources are created and updated after everything they refer to or DependsOn;
* a resource is updated only when its properties, resolved, change (a changed Fn::GetAtt counts);
* a change to a create-only property creates a new physical resource; the old one is deleted in the
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS phase, after every resource was updated, as are removed resources;
* a custom resource is sent an Update when its properties change, with OldResourceProperties; a new
  PhysicalResourceId in its answer is a replacement (the old one gets a Delete in the cleanup)
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-update.html);
* when an update fails, the stack rolls back to the previous template: every resource that was updated is
  updated back with the previous properties, new physical resources are deleted
  (UPDATE_ROLLBACK_IN_PROGRESS -> UPDATE_ROLLBACK_COMPLETE); a failed create ends in ROLLBACK_COMPLETE.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .intrinsics import Resolver, order
from .resources import Handlers, Resource, ResourceFailedError, requires_replacement

# (request type, resource, new properties, old properties) -> (status, reason, physical id, data)
CustomResponse = tuple[str, str, str, dict[str, Any]]
InvokeCustom = Callable[[str, Resource, dict[str, Any], dict[str, Any] | None], CustomResponse]


@dataclass
class Stack:
    handlers: Handlers
    invoke_custom: InvokeCustom
    status: str = ""
    template: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    reason: str = ""
    # CloudFormation documents updating a resource only when its template changes; aws/aws-cdk #36649's reporter
    # sees listener rules reset on any stack update. True models that worse case.
    rewrite_unchanged_rules: bool = False
    # Called after every resource operation of an update or rollback: the invariants hold at every step.
    observer: Callable[[], None] = lambda: None

    # ---- operations ----------------------------------------------------------------------------------

    def deploy(self, template: Mapping[str, Any]) -> str:
        """Create the stack, or update it to ``template``; return the final stack status."""
        copied: dict[str, Any] = copy.deepcopy(dict(template))
        if not self.resources:
            return self._create(copied)
        return self._update(copied)

    def _create(self, template: dict[str, Any]) -> str:
        self.template, self.reason, self.status = template, "", "CREATE_IN_PROGRESS"
        try:
            for logical in self._active(template):
                self._create_resource(template, logical)
        except ResourceFailedError as exc:
            self._failed(exc)
            for logical in reversed(list(self.resources)):
                self._delete(self.resources.pop(logical))
            self.status = "ROLLBACK_COMPLETE"
            return self.status
        self.status = "CREATE_COMPLETE"
        return self.status

    def _update(self, template: dict[str, Any]) -> str:
        previous, before = self.template, dict(self.resources)
        self.template, self.reason, self.status = template, "", "UPDATE_IN_PROGRESS"
        replaced: list[Resource] = []
        try:
            for logical in self._active(template):
                if logical not in self.resources:
                    self._create_resource(template, logical)
                    continue
                replacement = self._update_resource(template, logical)
                if replacement is not None:
                    replaced.append(replacement)
        except ResourceFailedError as exc:
            self._failed(exc)
            self._roll_back(previous, before)
            return self.status
        self.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
        removed = [self.resources.pop(x) for x in reversed(list(self.resources)) if x not in self._active(template)]
        for resource in replaced + removed:
            self._delete(resource)
        self.status = "UPDATE_COMPLETE"
        return self.status

    def _roll_back(self, previous: dict[str, Any], before: dict[str, Resource]) -> None:
        self.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        self.template = previous
        created = [r for x, r in self.resources.items() if before.get(x) is not r]
        self.resources = {**self.resources, **before}
        try:
            for logical in self._active(previous):
                resource = self.resources[logical]
                props = self._resolve(previous, logical)
                # Properties are recorded only when an operation succeeded, so the resource whose update failed (a
                # custom resource included: an assumption) is not sent its old properties again.
                if resource.properties != props:
                    self._update_in_place(resource, props)
        except ResourceFailedError as exc:
            self._failed(exc)
            self.status = "UPDATE_ROLLBACK_FAILED"
            return
        self.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        for logical in [x for x in list(self.resources) if x not in previous["Resources"]]:
            self.resources.pop(logical)
        for resource in reversed(created):
            self._delete(resource)
        self.status = "UPDATE_ROLLBACK_COMPLETE"

    # ---- one resource -----------------------------------------------------------------------------------

    def _create_resource(self, template: dict[str, Any], logical: str) -> None:
        kind = template["Resources"][logical]["Type"]
        props = self._resolve(template, logical)
        if _is_custom(kind):
            status, reason, physical, data = self.invoke_custom(
                "Create", Resource(logical, kind, "", props), props, None
            )
            if status != "SUCCESS":
                raise ResourceFailedError(
                    f"{logical}: Received response status [FAILED] from custom resource. {reason}"
                )
            resource = Resource(logical, kind, physical, props, data)
        else:
            resource = self.handlers.create(logical, kind, props)
        self._event(f"CREATE {logical}")
        self.resources[logical] = resource

    def _update_resource(self, template: dict[str, Any], logical: str) -> Resource | None:
        """Update ``logical`` when its resolved properties changed; return the replaced old resource, if any."""
        resource = self.resources[logical]
        props = self._resolve(template, logical)
        if props == resource.properties:
            if self.rewrite_unchanged_rules and resource.type == "AWS::ElasticLoadBalancingV2::ListenerRule":
                # The worse case aws/aws-cdk #36649 reports: rule actions reset on ANY stack update.
                self.handlers.update(resource, props)
            return None
        if not _is_custom(resource.type) and requires_replacement(resource.type, resource.properties, props):
            self._event(f"REPLACE {logical}")
            del self.resources[logical]
            self._create_resource(template, logical)
            return resource
        return self._update_in_place(resource, props)

    def _update_in_place(self, resource: Resource, props: dict[str, Any]) -> Resource | None:
        self._event(f"UPDATE {resource.logical_id}")
        if not _is_custom(resource.type):
            self.handlers.update(resource, props)
            return None
        status, reason, physical, data = self.invoke_custom("Update", resource, props, resource.properties)
        if status != "SUCCESS":
            raise ResourceFailedError(
                f"{resource.logical_id}: Received response status [FAILED] from custom resource. {reason}"
            )
        if physical != resource.physical_id:
            self.resources[resource.logical_id] = Resource(resource.logical_id, resource.type, physical, props, data)
            return resource
        resource.properties, resource.attributes = props, data
        return None

    def _delete(self, resource: Resource) -> None:
        self._event(f"DELETE {resource.logical_id}")
        if _is_custom(resource.type):
            self.invoke_custom("Delete", resource, resource.properties, None)
        else:
            self.handlers.delete(resource)

    def _event(self, text: str) -> None:
        self.events.append(text)
        if self.status != "CREATE_IN_PROGRESS":
            self.observer()

    def _failed(self, exc: ResourceFailedError) -> None:
        self.reason = str(exc)
        self.events.append(f"FAILED {exc}")

    # ---- resolution --------------------------------------------------------------------------------------

    def _active(self, template: Mapping[str, Any]) -> list[str]:
        resolver = self._resolver(template)
        return [
            x
            for x in order(template)
            if "Condition" not in template["Resources"][x] or resolver.condition(template["Resources"][x]["Condition"])
        ]

    def _resolver(self, template: Mapping[str, Any]) -> Resolver:
        def ref(logical: str) -> Any:
            return self.resources[logical].physical_id

        def get_att(logical: str, attribute: str) -> Any:
            resource = self.resources[logical]
            if attribute not in resource.attributes:
                if _is_custom(resource.type):
                    raise ResourceFailedError(
                        f"CustomResource attribute error: Vendor response doesn't contain {attribute} key in object "
                        f"{resource.physical_id}"
                    )
                return f"{resource.physical_id}.{attribute}"
            return resource.attributes[attribute]

        return Resolver(template, ref, get_att)

    def _resolve(self, template: Mapping[str, Any], logical: str) -> dict[str, Any]:
        resolved: dict[str, Any] = self._resolver(template).resolve(
            template["Resources"][logical].get("Properties", {})
        )
        return resolved


def _is_custom(kind: str) -> bool:
    return kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"
