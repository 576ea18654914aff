"""Documentation tools: docs/props.md is generated from the docstrings (``python -m docs.generate_props``)."""
