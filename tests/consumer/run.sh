#!/usr/bin/env bash
# The consumer test (`make consumer`): build the sdist and the wheel, check what each ships, install the
# wheel into a fresh virtual environment (runtime dependencies only, at constraints.txt's versions),
# synthesize tests/consumer/app.py there and type-check it with mypy --strict.
# Runs outside the checkout, so `import blue_green_ecs` can only find the installed wheel.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
WORK=$ROOT/build/consumer
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export PIP_DISABLE_PIP_VERSION_CHECK=1
rm -rf "$WORK"
mkdir -p "$WORK/app"

echo "consumer: building the sdist and the wheel"
"$PYTHON" -m venv "$WORK/build-venv"
"$WORK/build-venv/bin/pip" install --quiet "build==1.6.1"
"$WORK/build-venv/bin/python" -m build --outdir "$WORK/dist" "$ROOT" > "$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log"; exit 1; }
if grep -i "deprecat" "$WORK/build.log"; then
    echo "consumer: FAILED: the build printed deprecation warnings (above)"; exit 1
fi

echo "consumer: checking what the sdist and the wheel ship"
"$WORK/build-venv/bin/python" - "$WORK/dist" <<'PY'
import sys, tarfile, zipfile
from pathlib import Path

dist = Path(sys.argv[1])
[sdist] = dist.glob("*.tar.gz")
[wheel] = dist.glob("*.whl")
with tarfile.open(sdist) as tar:
    sdist_files = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
with zipfile.ZipFile(wheel) as whl:
    wheel_files = set(whl.namelist())
    metadata = next(whl.read(n).decode() for n in wheel_files if n.endswith(".dist-info/METADATA"))
problems = []
if any(name.startswith(("tests/", "sample/", "docs/", "benchmarks/")) for name in sdist_files):
    problems.append("the sdist ships tests, the sample, docs or benchmarks: " + ", ".join(
        sorted(n for n in sdist_files if n.startswith(("tests/", "sample/", "docs/", "benchmarks/")))))
for name in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "blue_green_ecs/py.typed",
             "blue_green_ecs/handlers/custom_resource.py"):
    if name not in sdist_files:
        problems.append(f"the sdist lacks {name}")
for name in ("blue_green_ecs/py.typed", "blue_green_ecs/handlers/custom_resource.py", "blue_green_ecs/_version.py"):
    if name not in wheel_files:
        problems.append(f"the wheel lacks {name}")
if not any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel_files):
    problems.append("the wheel lacks dist-info/licenses/LICENSE")
for line in ("License-Expression: Apache-2.0", "Requires-Dist: aws-cdk-lib<3,>=2.269.0",
             "Provides-Extra: cli", "Requires-Dist: pyyaml<7,>=6.0.1; extra == \"cli\""):
    if line not in metadata.splitlines():
        problems.append(f"the wheel's METADATA lacks {line!r}")
print(f"  sdist: {len(sdist_files)} entries, wheel: {len(wheel_files)} files")
if problems:
    sys.exit("consumer: FAILED:\n  " + "\n  ".join(problems))
PY

echo "consumer: installing the wheel into a fresh virtual environment"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet -c "$ROOT/constraints.txt" "$WORK"/dist/*.whl "mypy==2.4.1"
cp "$ROOT/tests/consumer/app.py" "$WORK/app/app.py"
cd "$WORK/app"

echo "consumer: blue-green-ecs --version, and export without the cli extra"
version=$("$WORK/venv/bin/blue-green-ecs" --version)
expected="blue-green-ecs $("$WORK/venv/bin/python" -c 'import blue_green_ecs._version as v; print(v.__version__)')"
[ "$version" = "$expected" ] || { echo "consumer: FAILED: --version printed '$version'"; exit 1; }
if "$WORK/venv/bin/blue-green-ecs" export --app true --out out 2> export.err; then
    echo "consumer: FAILED: export without PyYAML succeeded"; exit 1
fi
grep -q "pip install 'blue-green-ecs\[cli\]'" export.err || { cat export.err; exit 1; }

echo "consumer: synthesizing the two-service app"
"$WORK/venv/bin/python" -c 'import blue_green_ecs, sys; sys.exit(0 if "site-packages" in blue_green_ecs.__file__ else "not the wheel: " + blue_green_ecs.__file__)'
CDK_OUTDIR=cdk.out "$WORK/venv/bin/python" app.py
"$WORK/venv/bin/python" - <<'PY'
import json, sys
resources = json.load(open("cdk.out/Shop.template.json"))["Resources"]
services = [r for r in resources.values() if r["Type"] == "AWS::ECS::Service"]
groups = [r for r in resources.values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
print(f"  Shop: {len(resources)} resources, {len(services)} ECS services, {len(groups)} deployment group")
if (len(services), len(groups)) != (2, 1):
    sys.exit("consumer: FAILED: expected two services and one deployment group")
PY

echo "consumer: the README's example app, as written"
"$WORK/venv/bin/python" - "$ROOT/README.md" > readme_app.py <<'PY'
import re, sys
text = open(sys.argv[1]).read()
after = text.split("A complete `app.py`", 1)[1]
print(re.search(r"```python\n(.*?)```", after, re.S).group(1), end="")
PY
CDK_OUTDIR=cdk.out.readme "$WORK/venv/bin/python" readme_app.py
test -f cdk.out.readme/Shop.template.json
wheel=$(basename "$WORK"/dist/*.whl)
grep -q "dist/$wheel" "$ROOT/README.md" || { echo "consumer: FAILED: README does not install $wheel"; exit 1; }

echo "consumer: mypy --strict over both apps"
"$WORK/venv/bin/mypy" --strict app.py readme_app.py
# A misspelt import is an error, not an Any (the package's lazy __getattr__ is hidden from type checkers).
echo "from blue_green_ecs import BlueGreenFargateServce" > typo.py
if "$WORK/venv/bin/mypy" --strict typo.py > typo.out; then
    echo "consumer: FAILED: mypy accepted a misspelt import"; exit 1
fi
grep -q 'Module "blue_green_ecs" has no attribute "BlueGreenFargateServce"' typo.out || { cat typo.out; exit 1; }
echo "consumer: passed"
