#!/usr/bin/env bash
# Builds a release tarball for any Linux distribution (also the offline bundle: everything to
# install without a network), its SHA256SUMS and a detached signature of SHA256SUMS.
#
#   packaging/release.sh --binary PATH --key KEY.key [--out DIR]
#
# The key comes from `lookout config keygen`; `lookout release verify DIR --trust KEY.pub`
# (or `sha256sum -c SHA256SUMS` for the checksums alone) checks a download.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="" key="" out="dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --key) key="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "--binary must name the built lookout binary" >&2; exit 2; }
helper="$(dirname "$binary")/lookout-helper"
[ -x "$helper" ] || { echo "$helper (the root helper, built with the binary) is missing" >&2; exit 2; }
[ -f "$key" ] || { echo "--key must name a private key from \`lookout config keygen\`" >&2; exit 2; }

version="$("$binary" version --json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
arch="$(uname -m)"
name="lookout-${version}-linux-${arch}"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/bin" "$stage/$name/etc" "$stage/$name/systemd" "$stage/$name/doc"
install -m 0755 "$binary" "$stage/$name/bin/lookout"
install -m 0755 "$helper" "$stage/$name/bin/lookout-helper"
install -m 0644 crates/config/default.yaml "$stage/$name/etc/lookout.yaml"
for u in lookout.service lookout-helper.service lookout-helper.socket; do
  install -m 0644 "packaging/systemd/$u" "$stage/$name/systemd/$u"
done
install -m 0644 README.md CHANGELOG.md "$stage/$name/doc/"
cp -r docs "$stage/$name/doc/docs"

mkdir -p "$out"
# reproducible: fixed order, owner and times
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00:00Z' \
  -C "$stage" -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" > SHA256SUMS)
"$binary" release sign "$out/SHA256SUMS" --key "$key" >/dev/null
echo "$out/$name.tar.gz"
