#!/usr/bin/env bash
# Builds lookout's RPM from a built binary with rpmbuild (Debian's `rpm` package has it):
#   packaging/rpm/build.sh --binary PATH [--version V] [--out DIR] [--fast]
set -euo pipefail
cd "$(dirname "$0")/../.."
binary="" version="" out="dist" payload="w9.xzdio"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fast) payload="w1.gzdio"; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "--binary must name the built lookout binary" >&2; exit 2; }
helper="$(dirname "$binary")/lookout-helper"
[ -x "$helper" ] || { echo "$helper (the root helper, built with the binary) is missing" >&2; exit 2; }
[ -n "$version" ] || version="$("$binary" version --json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
top="$(mktemp -d)"
trap 'rm -rf "$top"' EXIT
rpmbuild -bb --quiet \
  --define "_topdir $top" \
  --define "_binary_payload $payload" \
  --define "lookout_version $version" \
  --define "lookout_binary $(readlink -f "$binary")" \
  --define "lookout_helper $(readlink -f "$helper")" \
  --define "lookout_src $PWD" \
  packaging/rpm/lookout.spec >/dev/null 2>&1 || rpmbuild -bb \
  --define "_topdir $top" --define "_binary_payload $payload" --define "lookout_version $version" \
  --define "lookout_binary $(readlink -f "$binary")" --define "lookout_helper $(readlink -f "$helper")" --define "lookout_src $PWD" packaging/rpm/lookout.spec
mkdir -p "$out"
f="$(find "$top/RPMS" -name '*.rpm' | head -1)"
cp "$f" "$out/"
echo "$out/$(basename "$f")"
