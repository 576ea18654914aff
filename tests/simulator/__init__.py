"""A deployment-lifecycle simulator (issue #12): CloudFormation, ELBv2, ECS and CodeDeploy as models.

``aws.py`` holds the AWS state and its rules, ``clients.py`` the boto3 clients the real handler code talks
to (every request validated against botocore's service model), ``cloudformation.py`` the template engine
(create, update, replacement, cleanup, rollback) that invokes the real custom resource handler.
Each modelled rule cites the AWS documentation it follows; where AWS does not document a behaviour, the
comment says that it is an assumption.
"""
