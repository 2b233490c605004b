#!/usr/bin/env bash
# Builds the pip package (wheel + sdist) and checks that it works in a fresh venv with no
# checkout around it: stubs import, embedded mode names the [server] extra when it is
# missing, and the server starts once the extra is installed.
set -euo pipefail
py=$1
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m build --outdir "$work/dist" "$root/python" >/dev/null
ls "$work"/dist/trackwire-*.whl "$work"/dist/trackwire-*.tar.gz >/dev/null
python3 -m venv "$work/venv"
cd "$work"  # away from the checkout
wheel=$(ls "$work"/dist/trackwire-*.whl)
"$work/venv/bin/pip" install -q "$wheel"
"$work/venv/bin/python" - <<'PY'
from trackwire.v1 import tracking_service_pb2, tracking_service_pb2_grpc  # noqa: F401
import trackwire

try:
    trackwire.TrackingClient("sqlite:///embedded.db")
except Exception as error:  # the message must name the extra to install
    assert "trackwire[server]" in str(error), error
else:
    raise SystemExit("embedded mode worked without the [server] extra")
print("client-only install: ok")
PY
# The analytics extras are declared, and their modules name them when they are missing.
"$work/venv/bin/python" - <<'PY'
from importlib.metadata import metadata

extras = metadata("trackwire").get_all("Provides-Extra")
assert {"spark", "delta"} <= set(extras), extras
for module, extra in (("trackwire.spark", "spark"), ("trackwire.export.delta", "delta")):
    try:
        __import__(module)
    except ImportError as error:
        assert f"trackwire[{extra}]" in str(error), error
    else:
        raise SystemExit(f"{module} imported without the [{extra}] extra")
print("analytics extras declared: ok")
PY
# The command line works without the extra, and says what is missing where it needs it.
"$work/venv/bin/trackwire" --version
missing=$("$work/venv/bin/trackwire" experiments list --tracking-uri "sqlite:///$work/none.db" 2>&1) &&
  exit 1
grep -q "trackwire db upgrade --create" <<<"$missing"
no_extra=$("$work/venv/bin/trackwire" db upgrade --create "sqlite:///$work/fresh.db" 2>&1) && exit 1
grep -qF "trackwire[server]" <<<"$no_extra"
"$work/venv/bin/pip" install -q "$wheel[server]"
"$work/venv/bin/trackwire" server --help >/dev/null
# `trackwire export delta` without the [delta] extra: one line naming it, no traceback.
if "$work/venv/bin/trackwire" export delta --experiment 1 --to "$work/delta" \
     --tracking-uri "sqlite:///$work/fresh.db" 2>"$work/err"; then
  echo "trackwire export delta worked without the [delta] extra"; exit 1
fi
grep -q "trackwire\[delta\]" "$work/err" && ! grep -q Traceback "$work/err" || { cat "$work/err"; exit 1; }
"$work/venv/bin/python" -c "
from importlib import resources
ui = resources.files('trackwire.server') / 'ui_assets'
assert (ui / 'index.html').is_file() and any((ui / 'assets').iterdir()), 'web UI missing from the wheel'
print('web UI assets: ok')"
"$work/venv/bin/trackwire" db upgrade --create "sqlite:///$work/fresh.db"
"$work/venv/bin/python" -c "
import trackwire
client = trackwire.TrackingClient('sqlite:///$work/fresh.db')
print('embedded install: ok, experiment 0 is', client.get_experiment('0').name)"
