"""Lambda runtime code of blue_green_ecs; this directory is the Lambda asset root."""
