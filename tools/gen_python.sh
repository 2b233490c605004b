#!/usr/bin/env bash
# Regenerates the checked-in Python stubs from proto/ (never edit them by hand).
# Usage: tools/gen_python.sh PYTHON THIRD_PARTY_PROTO_DIR
set -euo pipefail
py=$1 third_party=$2
cd "$(dirname "$0")/.."
out=python/src
venv_bin=$(dirname "$py")
rm -rf "$out/trackwire/v1" "$out/trackwire/conformance"
mapfile -t protos < <(cd proto && find trackwire -name '*.proto' | sort)
(cd proto && PATH="$venv_bin:$PATH" "$py" -m grpc_tools.protoc -I. -I"../$third_party" \
  --python_out="../$out" --grpc_python_out="../$out" --mypy_out="../$out" "${protos[@]}")
# Packages for the generated modules (the proto path is the package path).
find "$out/trackwire/v1" "$out/trackwire/conformance" -type d -exec touch {}/__init__.py \;
version=$(cat VERSION)
printf '"""The package version; generated from VERSION by `make gen`."""\n\n__version__ = "%s"\n' \
  "$version" > "$out/trackwire/_version.py"
