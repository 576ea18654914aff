"""The load balancer side of a service: the load balancer, target groups and listeners (``load_balancing.py``); what
shapes them, and a service's place on a shared one (``edge.py``: ``Routing``); one load balancer for many services
(``shared_load_balancer.py``: ``BlueGreenLoadBalancer``; ``listener_pair.py``: a service's own listeners on it);
testing green through the production listener (``test_traffic.py``: ``TestTrafficHeader``, its rule and its router
hook); access logs (``access_logs.py``); the parts handed on to the later steps (``parts.py``); and what the
services of a stack share, created once: the access-log bucket, CodeDeploy's application and role, ECS's
infrastructure role for load balancers (``shared_resources.py``). It imports only the folders below it,
``fargate/``, ``functions/``, ``configuration/`` and ``handlers/``, and names the construct's props
(``ServiceProps`` and the types of its fields) for the type checker only (tests/test_architecture.py, ``LAYERS``).
"""
