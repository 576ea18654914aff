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

Deleting a stack (``delete``) deletes each resource before what it refers to or DependsOn ("Resource A is deleted
before resource B", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html),
except those whose DeletionPolicy is Retain or RetainExceptOnCreate; the same policy keeps a removed resource, and a
Retain one even when the operation that created it rolls back (RetainExceptOnCreate deletes it then), and
UpdateReplacePolicy Retain keeps a replaced one
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatereplacepolicy.html). A retained
resource stays in the account with its physical name: a later create of a resource of the same type and
primary identifier (a log group's LogGroupName, in its CloudFormation registry schema) fails with the handler's
AlreadyExists (``already_exists``). Each create gets a new stack id (``AWS::StackId``, its last part a UUID).

A custom resource that does not answer within its ``ServiceTimeout`` (default 3600 s) fails
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-customresource.html):
``invoke_custom`` returns ``TIMED_OUT`` with CloudFormation's reason (``timed_out_reason``).

Stack-level tags (``deploy(tags=...)``, what ``cdk deploy --tags`` sets) propagate to every resource whose type's
registry schema says it is taggable
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html); a resource's
own Tags win over the stack's for the same key. They are kept apart from the template's properties: a change of
the stack's tags alone updates each such resource's tags with the tag API its schema names (``tagging``:
elasticloadbalancing:AddTags/RemoveTags, ecs:TagResource/UntagResource...), not its other properties: a task
definition keeps its revision, a listener its actions. Whether an update handler also re-sends the other
properties for a tags-only change is not documented (the listener's lists ModifyListener among its update
permissions): ``retag_rewrites`` models that worse case.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from .aws import ACCOUNT, REGION
from .intrinsics import Resolver, order
from .resources import Handlers, Resource, ResourceFailedError, requires_replacement

# (request type, resource, new properties, old properties) -> (status, reason, physical id, data)
CustomResponse = tuple[str, str, str, dict[str, Any]]
InvokeCustom = Callable[[str, Resource, dict[str, Any], dict[str, Any] | None], CustomResponse]
# The status of a custom resource request that got no answer within its ServiceTimeout.
TIMED_OUT = "TIMED_OUT"
RETAINED_ON_DELETE = ("Retain", "RetainExceptOnCreate")


def timed_out_reason(request_id: str) -> str:
    """CloudFormation's reason for a custom resource that did not answer in time, as users report it
    (aws/aws-cdk #24974, aws-samples/aws-security-reference-architecture-examples #162)."""
    return (
        "CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId "
        f"[{request_id}]. If you are using the Python cfn-response module, you may need to update your Lambda "
        "function code so that CloudFormation can attach the updated version."
    )


@functools.cache
def _schema(kind: str) -> Mapping[str, Any]:
    """The type's CloudFormation registry schema, as cfn-lint bundles it ({} for custom and test types)."""
    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, kind).schema  # type: ignore[no-any-return]
    except Exception:  # cfn-lint's ResourceNotFoundError: Custom::, Test::
        return {}


def taggable(kind: str) -> bool:
    """Whether stack-level tags reach resources of ``kind`` (its schema's ``tagging.taggable``)."""
    return bool((_schema(kind).get("tagging") or {}).get("taggable"))


def name_property(kind: str) -> str | None:
    """The property that names a resource of ``kind`` in its account, when its primary identifier is one
    property the template may set (LogGroupName, BucketName, RoleName...); None otherwise."""
    schema = _schema(kind)
    identifier = schema.get("primaryIdentifier") or []
    read_only = set(schema.get("readOnlyProperties") or [])
    if len(identifier) != 1 or identifier[0] in read_only or not identifier[0].startswith("/properties/"):
        return None
    return str(identifier[0].removeprefix("/properties/"))


def already_exists(kind: str, name_key: str, name: str) -> str:
    """The reason of a create whose physical name is taken: the resource handler's AlreadyExists, as CloudFormation
    shows it (e.g. aws-solutions/amazon-marketing-cloud-uploader-from-aws #167; the handler contract:
    https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-test-contract.html)."""
    return (
        f"Resource handler returned message: \"Resource of type '{kind}' with identifier "
        f'\'{{"/properties/{name_key}":"{name}"}}\' already exists." (HandlerErrorCode: AlreadyExists)'
    )


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
    # The worse case of a tags-only update (see the module's docstring): the resource's update handler writes all
    # its template properties again (ModifyListener with the DefaultActions, ModifyRule, UpdateService...).
    retag_rewrites: bool = False
    # Called after every resource operation of an update or rollback: the invariants hold at every step.
    observer: Callable[[], None] = lambda: None
    name: str = "Simulated"
    # arn:aws:cloudformation:<region>:<account>:stack/<name>/<UUID>, new with every create
    stack_id: str = ""
    # the stack-level tags, and those each resource got from them (logical id -> tags)
    tags: dict[str, str] = field(default_factory=dict)
    resource_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    # resources a DeletionPolicy or UpdateReplacePolicy kept: they stay in the account, outside any stack
    retained: list[Resource] = field(default_factory=list)
    # the resources the running update has replaced: they exist until its cleanup deletes them (or its rollback
    # puts them back), and may still carry traffic meanwhile (the target groups of a pair being replaced)
    replaced: list[Resource] = field(default_factory=list)
    # logical id -> (model time, properties) of each version CloudFormation wrote (IAM shows them with a delay)
    history: dict[str, list[tuple[datetime, dict[str, Any]]]] = field(default_factory=dict)

    # ---- operations ----------------------------------------------------------------------------------

    def deploy(self, template: Mapping[str, Any], *, tags: Mapping[str, str] | None = None) -> str:
        """Create the stack, or update it to ``template``; return the final stack status. ``tags``: the stack-level
        tags (CreateStack/UpdateStack's Tags; None on an update keeps the stack's, as UpdateStack does)."""
        copied: dict[str, Any] = copy.deepcopy(dict(template))
        if not self.resources:
            return self._create(copied, dict(tags or {}))
        return self._update(copied, self.tags if tags is None else dict(tags))

    def delete(self) -> str:
        """DeleteStack: every resource, in reverse dependency order, but the retained ones."""
        self.reason, self.status = "", "DELETE_IN_PROGRESS"
        for logical in reversed(order(self.template)):
            resource = self.resources.get(logical)
            if resource is None:
                continue
            if self._policy(logical, "DeletionPolicy") in RETAINED_ON_DELETE:
                self._retain(resource)
            else:
                try:
                    self._delete(resource)
                except ResourceFailedError as exc:
                    self._failed(exc)
                    self.status = "DELETE_FAILED"
                    return self.status
            del self.resources[logical]
            self.resource_tags.pop(logical, None)
        self.status = "DELETE_COMPLETE"
        return self.status

    def _create(self, template: dict[str, Any], tags: dict[str, str]) -> str:
        self.template, self.reason, self.status = template, "", "CREATE_IN_PROGRESS"
        self.stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.name}/{uuid.uuid4()}"
        self.tags, self.resource_tags = tags, {}
        try:
            for logical in self._active(template):
                self._create_resource(template, logical)
        except ResourceFailedError as exc:
            self._failed(exc)
            for logical in reversed(list(self.resources)):
                resource = self.resources.pop(logical)
                if self._policy(logical, "DeletionPolicy") == "Retain":
                    self._retain(resource)
                else:
                    self._delete(resource)
            self.status = "ROLLBACK_COMPLETE"
            return self.status
        self.status = "CREATE_COMPLETE"
        return self.status

    def _update(self, template: dict[str, Any], tags: dict[str, str]) -> str:
        previous, before = self.template, dict(self.resources)
        previous_tags = self.tags
        self.template, self.reason, self.status = template, "", "UPDATE_IN_PROGRESS"
        self.tags = tags
        replaced: list[Resource] = []
        self.replaced = replaced
        try:
            for logical in self._active(template):
                if logical not in self.resources:
                    self._create_resource(template, logical)
                    continue
                replacement = self._update_resource(template, logical)
                if replacement is not None and all(replacement is not r for r in replaced):
                    replaced.append(replacement)
        except ResourceFailedError as exc:
            self._failed(exc)
            self._roll_back(previous, before, previous_tags)
            return self.status
        self.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
        active = set(self._active(template))
        removed = [self.resources.pop(x) for x in reversed(list(self.resources)) if x not in active]
        for resource in replaced:
            self._dispose(resource, "UpdateReplacePolicy", previous)
        self.replaced = []
        for resource in removed:
            self.resource_tags.pop(resource.logical_id, None)
            self._dispose(resource, "DeletionPolicy", previous)
        self.status = "UPDATE_COMPLETE"
        return self.status

    def _roll_back(self, previous: dict[str, Any], before: dict[str, Resource], previous_tags: dict[str, str]) -> None:
        self.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        failed_template, self.template, self.tags = self.template, previous, previous_tags
        created = [r for x, r in self.resources.items() if before.get(x) is not r]
        self.resources = {**self.resources, **before}
        self.replaced = []
        try:
            for logical in self._active(previous):
                resource = self.resources[logical]
                props = self._resolve(previous, logical)
                # Properties are recorded only when an operation succeeded, so the resource whose update failed (a
                # custom resource included: an assumption) is not sent its old properties again.
                if _only_tags_differ(resource.properties, props) and taggable(resource.type):
                    if self.resource_tags.get(logical) != self._tags_of(props):
                        resource.properties = props
                        self._retag(resource, self._tags_of(props))
                elif resource.properties != props:
                    self._update_in_place(resource, props)
                    if taggable(resource.type):
                        self.resource_tags[logical] = self._tags_of(props)
        except ResourceFailedError as exc:
            self._failed(exc)
            self.status = "UPDATE_ROLLBACK_FAILED"
            return
        self.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        for logical in [x for x in list(self.resources) if x not in previous["Resources"]]:
            self.resources.pop(logical)
            self.resource_tags.pop(logical, None)
        for resource in reversed(created):
            # DeletionPolicy Retain keeps a resource even when the operation that created it rolls back.
            if self._policy(resource.logical_id, "DeletionPolicy", failed_template) == "Retain":
                self._retain(resource)
            else:
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
            _raise_unless_success(logical, status, reason)
            resource = Resource(logical, kind, physical, props, data)
        else:
            key = name_property(kind)
            taken = [r for r in [*self.resources.values(), *self.retained] if r.type == kind]
            if key is not None and props.get(key) and any(r.properties.get(key) == props[key] for r in taken):
                raise ResourceFailedError(f"{logical}: {already_exists(kind, key, str(props[key]))}")
            resource = self.handlers.create(logical, kind, props)
            self.history[logical] = [(self.handlers.aws.now, props)]
        self.resources[logical] = resource  # it exists when its event is observed (a replacement's too)
        self._event(f"CREATE {logical}")
        if taggable(kind):
            self.resource_tags[logical] = self._tags_of(props)

    def _update_resource(self, template: dict[str, Any], logical: str) -> Resource | None:
        """Update ``logical`` when its resolved properties changed; return the replaced old resource, if any."""
        resource = self.resources[logical]
        props = self._resolve(template, logical)
        if _only_tags_differ(resource.properties, props) and taggable(resource.type):
            # The same properties but (perhaps) the tags, the template's or the stack's: a tags-only update.
            if self.rewrite_unchanged_rules and resource.type == "AWS::ElasticLoadBalancingV2::ListenerRule":
                # The worse case aws/aws-cdk #36649 reports: rule actions reset on ANY stack update.
                self.handlers.update(resource, resource.properties)
            if self.resource_tags.get(logical) != self._tags_of(props):
                resource.properties = props
                self._retag(resource, self._tags_of(props))
            return None
        if props == resource.properties:
            if self.rewrite_unchanged_rules and resource.type == "AWS::ElasticLoadBalancingV2::ListenerRule":
                self.handlers.update(resource, props)
            return None
        if taggable(resource.type):
            self.resource_tags[logical] = self._tags_of(props)
        if not _is_custom(resource.type) and requires_replacement(resource.type, resource.properties, props):
            self._event(f"REPLACE {logical}")
            del self.resources[logical]
            self.replaced.append(resource)  # still there, and still the service's, while its replacement is created
            self._create_resource(template, logical)
            return resource
        return self._update_in_place(resource, props)

    def _update_in_place(self, resource: Resource, props: dict[str, Any]) -> Resource | None:
        self._event(f"UPDATE {resource.logical_id}")
        if not _is_custom(resource.type):
            self.handlers.update(resource, props)
            self.history.setdefault(resource.logical_id, []).append((self.handlers.aws.now, props))
            return None
        status, reason, physical, data = self.invoke_custom("Update", resource, props, resource.properties)
        _raise_unless_success(resource.logical_id, status, reason)
        if physical != resource.physical_id:
            self.resources[resource.logical_id] = Resource(resource.logical_id, resource.type, physical, props, data)
            return resource
        resource.properties, resource.attributes = props, data
        return None

    def _retag(self, resource: Resource, tags: dict[str, str]) -> None:
        """A tags-only update: the tag API of the type (nothing else changes), or in the worse case
        (``retag_rewrites``) the type's update handler with all its template properties again."""
        self._event(f"UPDATE {resource.logical_id} (tags)")
        self.resource_tags[resource.logical_id] = tags
        if self.retag_rewrites:
            self.handlers.update(resource, resource.properties)

    def _tags_of(self, props: Mapping[str, Any]) -> dict[str, str]:
        """The tags a resource gets: the stack's, then its own Tags (the same key: its own value)."""
        own = props.get("Tags")
        return {**self.tags, **({t["Key"]: t["Value"] for t in own} if isinstance(own, list) else {})}

    def _policy(self, logical: str, attribute: str, template: Mapping[str, Any] | None = None) -> str:
        """The resource's DeletionPolicy or UpdateReplacePolicy in ``template`` (default: the stack's)."""
        return str(((template or self.template)["Resources"].get(logical) or {}).get(attribute) or "Delete")

    def _dispose(self, resource: Resource, attribute: str, template: Mapping[str, Any]) -> None:
        """Delete a replaced or removed resource, unless its ``attribute`` policy retains it."""
        if self._policy(resource.logical_id, attribute, template) in RETAINED_ON_DELETE:
            self._retain(resource)
        else:
            self._delete(resource)

    def _retain(self, resource: Resource) -> None:
        self.events.append(f"RETAIN {resource.logical_id}")
        self.retained.append(resource)

    def _delete(self, resource: Resource) -> None:
        self._event(f"DELETE {resource.logical_id}")
        if _is_custom(resource.type):
            status, reason, _, _ = self.invoke_custom("Delete", resource, resource.properties, None)
            if self.status == "DELETE_IN_PROGRESS":
                _raise_unless_success(resource.logical_id, status, reason)
        else:
            self.handlers.delete(resource)

    def _event(self, text: str) -> None:
        self.events.append(text)
        if self.status.startswith("UPDATE"):
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

        return Resolver(template, ref, get_att, {"AWS::StackName": self.name, "AWS::StackId": self.stack_id})

    def _resolve(self, template: Mapping[str, Any], logical: str) -> dict[str, Any]:
        resolved: dict[str, Any] = self._resolver(template).resolve(
            template["Resources"][logical].get("Properties", {})
        )
        return resolved


def _is_custom(kind: str) -> bool:
    return kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"


def _only_tags_differ(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``old`` and ``new`` are the same properties but for their Tags (or the same)."""
    return {k: v for k, v in old.items() if k != "Tags"} == {k: v for k, v in new.items() if k != "Tags"}


def _raise_unless_success(logical: str, status: str, reason: str) -> None:
    """A custom resource's FAILED answer, or no answer in time, fails it with CloudFormation's reason."""
    if status == TIMED_OUT:
        raise ResourceFailedError(f"{logical}: {reason}")
    if status != "SUCCESS":
        raise ResourceFailedError(f"{logical}: Received response status [FAILED] from custom resource. {reason}")
