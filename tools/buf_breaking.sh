#!/usr/bin/env bash
# buf breaking against the previous commit. The googleapis protos are not in git, so the
# previous commit's workspace is assembled in build/ with today's copies beside it.
set -euo pipefail
buf=$1 ref=${2:-HEAD~1}
cd "$(dirname "$0")/.."
if ! git rev-parse -q --verify "$ref" >/dev/null || ! git cat-file -e "$ref:buf.yaml" 2>/dev/null; then
  echo "buf breaking: $ref has no buf workspace; skipped"
  exit 0
fi
base=build/breaking-base
rm -rf "$base" && mkdir -p "$base/build"
git archive "$ref" buf.yaml proto | tar -x -C "$base"
cp -r build/third_party "$base/build/"
"$buf" breaking --against "$base"
