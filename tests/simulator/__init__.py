"""A deployment-lifecycle simulator (issue #12): CloudFormation, ELBv2, ECS and CodeDeploy as models.

``aws.py`` holds the AWS state, ``codedeploy.py`` and ``ecs_native.py`` the two deployment engines on the model's
clock, ``clients.py`` the boto3 clients the real handler code talks to (every request validated against botocore's
service model), ``intrinsics.py`` and ``cloudformation.py`` the template engine (create, update, replacement,
cleanup, rollback), ``resources.py`` what CloudFormation's resource handlers do per type, ``world.py`` the account
with the real provider function (``blue_green_ecs.handlers.custom_resource.handler``) and the invariants, and
``templates.py`` the real construct's templates. ``hooks.py`` is Lambda for the stack's lifecycle hook functions
(their real handler code, under their own roles, on the model's clock), which both engines run at their stages;
``hook_clients.py`` the CloudWatch, Systems Manager and EC2 clients the built-in hooks call, and ``metrics.py`` the
ELB metrics of the model's traffic. Each modelled rule cites the AWS documentation it follows.

Assumptions AWS does not document (each is marked where it is modelled):
* CloudFormation's AWS::ECS::Service handler sends UpdateService the changed properties plus DesiredCount;
* ECS's error text for a load balancer change on a CODE_DEPLOY service (not documented; users report it, kayac/ecspresso
  #393);
* DescribeServices answers a CODE_DEPLOY service's network configuration, platform version and capacity provider
  strategy as its PRIMARY task set's (``aws.FOLLOW_THE_PRIMARY_TASK_SET``: documented for "any parameters",
  reported for its load balancers and task definition only);
* after a CodeDeploy rollback both listeners forward to the original target group;
* new tasks pass health checks 60 s after they start; CodeDeploy's linear configurations shift in one step;
* a custom resource whose Update failed gets no Update during the stack rollback;
* ECS lets an UpdateService that changes the controller from ECS to CODE_DEPLOY through;
* ``Stack.rewrite_unchanged_rules`` models the worse case aws/aws-cdk #36649 reports (listener rules reset on any
  stack update); off, a resource is updated only when its resolved properties change, as CloudFormation documents;
* a change of tags alone (the stack's or the template's) calls only the tag APIs of the type's registry schema;
  ``Stack.retag_rewrites`` models the worse case, its update handler writing every property again;
* IAM shows a policy version a fixed time after it was written (``World.propagate_iam``), compared at action level,
  for the provider function's calls only (not the calls AWS makes with the stack's other roles);
* AccessDenied is ``AccessDenied`` (HTTP 403) from Query APIs (ELBv2), ``AccessDeniedException`` (400) from JSON ones;
* what a hung invocation of the function would still do after CloudFormation gave up on it is not played;
* a failed CodeDeploy lifecycle hook fails the deployment with the code HOOK_EXECUTION_FAILURE (the code is in the
  API's ErrorCode enum; which code and message CodeDeploy writes is not documented), then rolls it back;
* CodeDeploy's approval wait (STOP_DEPLOYMENT) ends Stopped with the code TIMEOUT, its replacement task set removed and
  no rollback deployment (production never moved; the documentation says only "Stopped");
* ECS runs the hooks of one stage one after the other, in the service's order; a Lambda hook's function error fails
  the hook; a hook's ``statusReason`` text is the model's;
* ECS runs no lifecycle hook for a service's first deployment (its CreateService): only an UpdateService that starts
  a new service revision runs the hooks;
* a one-off task (RunTask) runs ``Aws.task_seconds`` and exits with ``Aws.exit_codes`` of its command: a model
  choice; StopTask stops it at once;
* every listener and rule receives the same request rate, and an image answers every request alike
  (``Aws.error_rates``, ``Aws.latencies``): traffic is a model choice, not a measurement; a count of zero is no data.
"""
