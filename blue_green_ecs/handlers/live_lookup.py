"""The live-state lookup (``Custom::BlueGreenEcsLiveState``): what the deployment engine changed, read back.

After a CodeDeploy deployment the production listener forwards to the target group the template calls green;
ECS-native deployments move the weights of the production rule. CloudFormation does not see that drift, and
rewrites the template's action as soon as any property of the listener or rule changes (issue #12; aws/aws-cdk
#36649). The lookup runs before the listeners, rules and service of its service, which take its attributes
(``Data``) through Fn::GetAtt, so the template always says what is live; but for what ECS refuses to update on a
CODE_DEPLOY service, which keeps what CloudFormation created it with (``pinned_service.py``).

Everything is found through the load balancer, the listener ports, the rule priorities, the cluster and the
target group pair, never through the ARNs of what depends on the lookup. On an Update, "where it lives now"
comes from the OLD properties (the lookup runs before the listeners move to new ports, or a new load balancer
or cluster gets them). Reads only (DescribeListeners/Rules, ListServices, DescribeServices). Every value of
``Data`` is a string (lists comma-joined; the template uses Fn::Split). A Create waits out AccessDenied for a
while (``aws.Patience``): it runs right after CloudFormation created the role's policies, which IAM may not
show yet.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import aws, messages, pinned_service
else:
    # Top-level modules inside the Lambda asset, blue_green_ecs.handlers.* in the library.
    def _sibling(name: str) -> Any:
        return importlib.import_module(f"{__package__}.{name}" if __package__ else name)

    aws, messages, pinned_service = _sibling("aws"), _sibling("messages"), _sibling("pinned_service")

RESOURCE_TYPE = "Custom::BlueGreenEcsLiveState"
# The types this module answers: the lookup, and what a CODE_DEPLOY service was created with (pinned_service.py).
RESOURCE_TYPES = (RESOURCE_TYPE, pinned_service.RESOURCE_TYPE)
CODE_DEPLOY = "CODE_DEPLOY"
ECS_NATIVE = "ECS_NATIVE"
ENGINES = (CODE_DEPLOY, ECS_NATIVE)
BLUE, GREEN = "blue", "green"
DESCRIBE_SERVICES_BATCH = 10  # ecs:DescribeServices takes at most 10 services per call (ECS API reference)
DATA_KEYS = (
    *("ProdTargetGroupArn", "TestTargetGroupArn", "ServiceTargetGroupArn", "ServiceAlternateTargetGroupArn"),
    *("DesiredCount", "ContainerName", "ContainerPort", "Subnets", "SecurityGroups", "AssignPublicIp"),
    "PlatformVersion",
)
_ENGINES_DOC = "the side-by-side procedure of docs/engines.md ('Migrating a service between engines')"


class LiveStateError(messages.DeploymentError):
    """The lookup refuses the update, or could not read the live state: the Reason CloudFormation shows."""


# ---- the request ------------------------------------------------------------------------------------


def _text(properties: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = properties.get(key)
    if value is None or (required and value == ""):
        if not required:
            return ""
        raise LiveStateError(f"The live-state lookup is missing the property '{key}' (got {value!r}).")
    return str(value)


def _port(properties: Mapping[str, Any], key: str) -> int:
    text = _text(properties, key)
    try:
        return int(text)
    except ValueError:
        raise LiveStateError(f"The live-state lookup's property '{key}' must be a port number, got {text!r}.") from None


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _canonical(value: Any) -> str:
    """A comparable form of CloudFormation's JSON: no strategy and an empty strategy are the same."""
    return json.dumps(value or [], sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class LookupProperties:
    """One version (new or old) of the lookup's properties, validated."""

    engine: str
    load_balancer_arn: str
    prod_port: int
    test_port: int
    blue: str
    green: str
    prod_rule_priority: str
    cluster: str
    # A shared load balancer's production listener, named by ARN (its port is not this service's to know).
    prod_listener_arn: str
    service_name: str
    configured: Mapping[str, Any]

    @classmethod
    def parse(cls, properties: Mapping[str, Any]) -> LookupProperties:
        """Validate ``properties``; a LiveStateError names the faulty one."""
        engine = _text(properties, "Engine")
        if engine not in ENGINES:
            raise LiveStateError(
                f"The live-state lookup's property 'Engine' must be one of {list(ENGINES)}, got {engine!r}."
            )
        configured = properties.get("Configured")
        if not isinstance(configured, Mapping):
            raise LiveStateError(
                f"The live-state lookup's property 'Configured' must be an object, got {configured!r}."
            )
        return cls(
            engine=engine,
            load_balancer_arn=_text(properties, "LoadBalancerArn"),
            prod_port=_port(properties, "ProdPort") if not properties.get("ProdListenerArn") else 0,
            test_port=_port(properties, "TestPort") if not properties.get("ProdListenerArn") else 0,
            prod_listener_arn=_text(properties, "ProdListenerArn", required=False),
            blue=_text(properties, "BlueTargetGroupArn"),
            green=_text(properties, "GreenTargetGroupArn"),
            prod_rule_priority=_text(properties, "ProdRulePriority", required=engine == ECS_NATIVE),
            cluster=_text(properties, "ClusterName"),
            service_name=_text(properties, "ServiceName", required=False),
            configured=configured,
        )

    def target_group(self, role: str) -> str:
        """The ARN of the ``role`` (blue or green) target group."""
        return self.blue if role == BLUE else self.green

    def role_of(self, target_group_arn: str) -> str | None:
        """``blue``, ``green``, or None for a target group outside the pair."""
        return {self.blue: BLUE, self.green: GREEN}.get(target_group_arn)


def physical_resource_id(properties: LookupProperties) -> str:
    """Derived from the first Create's load balancer and ports, and kept on every Update.

    A new id on Update would make CloudFormation delete the "old" resource: harmless here, but the
    custom resource protocol's stable id is what tells CloudFormation nothing was replaced.
    """
    balancer = properties.load_balancer_arn.split(":loadbalancer/", 1)[-1]
    return f"blue-green-ecs-live-state/{balancer}/{properties.prod_port}/{properties.test_port}"


# ---- AWS reads ----------------------------------------------------------------------------------------


class Reader:
    """The lookup's AWS calls: errors become a LiveStateError with the AWS error code and message."""

    def __init__(self, elbv2: Any, ecs: Any, patience: aws.Patience | None = None) -> None:
        self.elbv2 = elbv2
        self.ecs = ecs
        self.patience = patience

    def call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``operation`` once: botocore's standard retry mode (``aws.CLIENT_CONFIG``) is the only retry,
        but for a Create's AccessDenied (``patience``)."""
        try:
            return aws.call(client, operation, params, _explain, patience=self.patience)
        except aws.AwsCallError as exc:
            raise LiveStateError(str(exc)) from exc
        except aws.TransientAwsError as exc:
            raise LiveStateError(
                f"The live-state lookup could not read the live state: {exc}. Nothing was changed; update the "
                "stack again."
            ) from exc

    def pages(self, client: Any, operation: str, items: str, token: str, **params: Any) -> Iterator[Any]:
        """Every item of every page: ELBv2 pages with Marker/NextMarker, ECS with nextToken."""
        request_token = "Marker" if token == "NextMarker" else token
        while True:
            response = self.call(client, operation, **params)
            yield from response.get(items) or []
            following = response.get(token)
            if not following:
                return
            params[request_token] = following


def _explain(code: str, message: str, action: str) -> str:
    text = f"The live-state lookup's call {action} failed: {code}: {messages.sentence(message)}"
    if code in messages.ACCESS_DENIED_CODES:
        text += f" Grant {action} to the deployment trigger's role (the construct grants it)."
    return text


def find_listener(reader: Reader, load_balancer_arn: str, port: int) -> Mapping[str, Any] | None:
    """The load balancer's listener on ``port`` (one at most: ELBv2 refuses a second on a port), or None."""
    for listener in reader.pages(
        reader.elbv2, "describe_listeners", "Listeners", "NextMarker", LoadBalancerArn=load_balancer_arn
    ):
        if listener.get("Port") == port:
            return dict(listener)
    return None


def find_rule(reader: Reader, listener_arn: str, priority: str) -> Mapping[str, Any] | None:
    """The listener's rule with ``priority`` (ELBv2 reports priorities as strings), or None."""
    for rule in reader.pages(reader.elbv2, "describe_rules", "Rules", "NextMarker", ListenerArn=listener_arn):
        if str(rule.get("Priority")) == priority:
            return dict(rule)
    return None


def forward_weights(actions: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Target group -> weight of the forward action among ``actions`` ({} when none forwards).

    A forward action names its target groups in ``TargetGroupArn`` or in ``ForwardConfig.TargetGroups``
    with weights, or both (then ForwardConfig holds that one group: ELBv2 Action reference). CodeDeploy's
    canary and linear shifts write the weighted form; a weight left out counts as 1 (the API's default).
    """
    for action in sorted(actions, key=lambda item: int(item.get("Order") or 0)):
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if groups:
            return {str(group["TargetGroupArn"]): int(group.get("Weight", 1)) for group in groups}
        if action.get("TargetGroupArn"):
            return {str(action["TargetGroupArn"]): 1}
    return {}


def list_services(reader: Reader, cluster: str) -> Iterator[Mapping[str, Any]]:
    """Every service of ``cluster``: ListServices page by page, DescribeServices 10 at a time."""
    batch: list[str] = []
    for arn in reader.pages(reader.ecs, "list_services", "serviceArns", "nextToken", cluster=cluster):
        batch.append(str(arn))
        if len(batch) == DESCRIBE_SERVICES_BATCH:
            yield from (
                reader.call(reader.ecs, "describe_services", cluster=cluster, services=batch).get("services") or []
            )
            batch = []
    if batch:
        yield from reader.call(reader.ecs, "describe_services", cluster=cluster, services=batch).get("services") or []


def _pair_entry(service: Mapping[str, Any], pair: tuple[str, str]) -> Mapping[str, Any] | None:
    for entry in service.get("loadBalancers") or []:
        if entry.get("targetGroupArn") in pair:
            return dict(entry)
    return None


def find_live_service(reader: Reader, cluster: str, pair: tuple[str, str], name: str) -> Mapping[str, Any] | None:
    """The ACTIVE service of ``cluster`` whose ``loadBalancers`` name blue or green, or None.

    Only a misconfiguration registers two services in one target group; then the one named ``name``
    wins, else the first by ARN, so the answer is the same on every call.
    """
    found = [
        service
        for service in list_services(reader, cluster)
        if service.get("status") == "ACTIVE" and _pair_entry(service, pair) is not None
    ]
    found.sort(key=lambda service: (service.get("serviceName") != name, str(service.get("serviceArn"))))
    return found[0] if found else None


# ---- deciding -------------------------------------------------------------------------------------------


class LiveStateLookup:
    """Decides the lookup's ``Data`` from the live state; tests and the simulator pass their own clients."""

    def __init__(
        self, elbv2: Any = None, ecs: Any = None, *, clock: aws.Clock | None = None, sleep: aws.Sleep = time.sleep
    ) -> None:
        """Missing clients are created on first use with the trigger's retry policy (a Delete creates none);
        ``clock`` and ``sleep`` time a Create's waits for IAM."""
        self._elbv2 = elbv2
        self._ecs = ecs
        self.clock: aws.Clock = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep

    def _reader(self, patience: aws.Patience | None = None) -> Reader:
        self._elbv2 = self._elbv2 or aws.client("elbv2")
        self._ecs = self._ecs or aws.client("ecs")
        return Reader(self._elbv2, self._ecs, patience)

    def on_event(self, event: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        """(PhysicalResourceId, Data) for a Create, Update or Delete; a refusal raises LiveStateError."""
        if event.get("ResourceType") == pinned_service.RESOURCE_TYPE:
            return pinned_service.on_event(event)  # no AWS call
        request_type = event.get("RequestType")
        if request_type == "Delete":
            return str(event.get("PhysicalResourceId") or ""), {}
        patience = aws.Patience.of_request(event, self.clock(), self.clock, self.sleep)
        new = LookupProperties.parse(event.get("ResourceProperties") or {})
        old = LookupProperties.parse(event.get("OldResourceProperties") or {}) if request_type == "Update" else None
        physical_id = str(event.get("PhysicalResourceId") or "") if old else ""
        return physical_id or physical_resource_id(new), self.data(new, old, patience=patience)

    def data(
        self, new: LookupProperties, old: LookupProperties | None, *, patience: aws.Patience | None = None
    ) -> dict[str, str]:
        """The attributes for ``new``; ``old`` (an Update's properties) says where things live now; ``patience``:
        a Create's, for AccessDenied."""
        now = old or new
        reader = self._reader(patience)
        prod_role = self._production_role(reader, now)
        if old is not None:
            _check_engine_switch(old, new, prod_role)
            if (old.blue, old.green) != (new.blue, new.green):  # e.g. container_port: the port is create-only
                raise LiveStateError(
                    "The target groups are being replaced, and the running tasks stay registered in the old ones "
                    f"(production: {now.target_group(prod_role)}): not possible in place. Migrate with {_ENGINES_DOC}."
                )
        replaced = old is not None and (old.service_name, old.cluster) != (new.service_name, new.cluster)
        if old is not None and not replaced and old.engine == new.engine == CODE_DEPLOY:
            _check_capacity_providers(old, new)
        pair = (now.blue, now.green)
        service = find_live_service(reader, now.cluster, pair, now.service_name)
        # A configured name the live service does not have: CloudFormation creates a service of that name
        # (ServiceName requires replacement), also on the Create of a stack that adopts the lookup.
        replaced = replaced or bool(
            service is not None and new.service_name and service.get("serviceName") != new.service_name
        )
        prod = new.target_group(prod_role)
        test = new.target_group(GREEN if prod_role == BLUE else BLUE)
        configured = new.configured
        data = {
            "ProdTargetGroupArn": prod,
            "TestTargetGroupArn": test,
            "DesiredCount": str(configured.get("DesiredCount", "")),
            "ContainerName": str(configured.get("ContainerName", "")),
            "ContainerPort": str(configured.get("ContainerPort", "")),
            "Subnets": ",".join(_strings(configured.get("Subnets"))),
            "SecurityGroups": ",".join(_strings(configured.get("SecurityGroups"))),
            "AssignPublicIp": str(configured.get("AssignPublicIp") or "DISABLED"),
            "PlatformVersion": str(configured.get("PlatformVersion", "")),
        }
        entry = _pair_entry(service, pair) if service is not None else None
        if service is None or entry is None or replaced:
            service_role = prod_role
        else:
            service_role = now.role_of(str(entry.get("targetGroupArn"))) or prod_role
            data["DesiredCount"] = str(service.get("desiredCount", data["DesiredCount"]))
            if new.engine == CODE_DEPLOY and (old is None or old.engine == CODE_DEPLOY):
                # DescribeServices follows the primary task set: the service renders from pinned_service.py, which
                # takes this only for a service it does not hold yet.
                data.update(pinned_service.live(service, entry, data))
        if service is not None and replaced:
            # The replacement carries the production load of the service it replaces, and at least as many
            # tasks as configured.
            data["DesiredCount"] = str(max(int(service.get("desiredCount") or 0), _int(data["DesiredCount"])))
        data["ServiceTargetGroupArn"] = new.target_group(service_role)
        data["ServiceAlternateTargetGroupArn"] = new.target_group(GREEN if service_role == BLUE else BLUE)
        return {key: data[key] for key in DATA_KEYS}

    def _production_role(self, reader: Reader, now: LookupProperties) -> str:
        """Blue or green: where production traffic goes now (blue while the listener or rule does not exist)."""
        if now.prod_listener_arn:
            listener: Mapping[str, Any] | None = {"ListenerArn": now.prod_listener_arn}
            where = f"the shared production listener {now.prod_listener_arn}"
        else:
            listener = find_listener(reader, now.load_balancer_arn, now.prod_port)
            where = f"the production listener (port {now.prod_port}) of load balancer {now.load_balancer_arn}"
        if listener is None:
            return BLUE
        actions = listener.get("DefaultActions") or []
        if now.engine == ECS_NATIVE:
            rule = find_rule(reader, str(listener["ListenerArn"]), now.prod_rule_priority)
            if rule is None:
                return BLUE
            where = f"the production rule (priority {now.prod_rule_priority}) of {where}"
            actions = rule.get("Actions") or []
        return _role_of_weights(forward_weights(actions), now, where)


def _role_of_weights(weights: Mapping[str, int], now: LookupProperties, where: str) -> str:
    serving = {arn: weight for arn, weight in weights.items() if weight > 0}
    foreign = sorted(arn for arn in serving if now.role_of(arn) is None)
    if len(serving) > 1 and not foreign:
        shares = ", ".join(f"{arn} weight {weight}" for arn, weight in sorted(serving.items()))
        raise LiveStateError(
            f"Production traffic of {where} is split between the blue and green target groups ({shares}): a "
            "deployment is shifting traffic. Wait for the deployment to finish, then update the stack."
        )
    if len(serving) != 1 or foreign:
        found = ", ".join(foreign or sorted(serving)) or "no target group"
        raise LiveStateError(
            f"Production traffic of {where} goes to {found}, not to the blue ({now.blue}) or the green "
            f"({now.green}) target group of this service. Point it back at the target group that holds the "
            "running tasks (aws elbv2 modify-listener or modify-rule), then update the stack."
        )
    [arn] = serving
    return str(now.role_of(arn))


def _check_engine_switch(old: LookupProperties, new: LookupProperties, prod_role: str) -> None:
    # Not even with production on blue: CODE_DEPLOY -> ECS_NATIVE turns the production listener's default
    # into the 404 before the forwarding rule exists (a window of errors; the deployment-lifecycle
    # simulator shows it), and ECS documents no ECS -> CODE_DEPLOY controller change in place.
    if old.engine != new.engine:
        where = "the green" if prod_role == GREEN else "the blue"
        raise LiveStateError(
            f"Engine changes from {old.engine} to {new.engine} (production traffic goes to {where} target group): "
            "switching engines in place would interrupt production traffic. "
            f"Migrate with {_ENGINES_DOC}."
        )


def _check_capacity_providers(old: LookupProperties, new: LookupProperties) -> None:
    before = old.configured.get("CapacityProviderStrategy")
    after = new.configured.get("CapacityProviderStrategy")
    if _canonical(before) != _canonical(after):
        raise LiveStateError(
            f"Configured.CapacityProviderStrategy (capacity_provider_strategies) changes from {_canonical(before)} "
            f"to {_canonical(after)} on a service with the CODE_DEPLOY deployment controller, whose capacity "
            "provider strategy ECS refuses to update. Give the service a new service_name (CloudFormation "
            "creates a replacement service) or use the ECS-native engine."
        )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
