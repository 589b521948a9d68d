#!/usr/bin/env bash
# Builds lookout's .deb from a built binary with Debian's own dpkg-deb:
#   /usr/bin/lookout, /etc/lookout/lookout.yaml (a conffile: upgrades keep the operator's
#   edits), /lib/systemd/system/lookout.service, the root helper
#   (/usr/libexec/lookout/lookout-helper, found beside the binary, and its socket/service units), docs; the `lookout` system user and
#   /var/lib/lookout (0700) made on install; data and configuration kept on removal, deleted
#   on purge.
#
#   packaging/deb/build.sh --binary PATH [--version V] [--out DIR] [--fast]
set -euo pipefail
cd "$(dirname "$0")/../.."

binary="" version="" out="dist" level=9
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fast) level=1; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "--binary must name the built lookout binary" >&2; exit 2; }
helper="$(dirname "$binary")/lookout-helper"
[ -x "$helper" ] || { echo "$helper (the root helper, built with the binary) is missing" >&2; exit 2; }
[ -n "$version" ] || version="$("$binary" version --json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
arch="$(dpkg --print-architecture)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/lookout_${version}_${arch}"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/libexec/lookout" "$root/etc/lookout" "$root/lib/systemd/system" "$root/usr/share/doc/lookout"
install -m 0755 "$binary" "$root/usr/bin/lookout"
install -m 0755 "$helper" "$root/usr/libexec/lookout/lookout-helper"
install -m 0644 crates/config/default.yaml "$root/etc/lookout/lookout.yaml"
for u in lookout.service lookout-helper.service lookout-helper.socket; do
  install -m 0644 "packaging/systemd/$u" "$root/lib/systemd/system/$u"
done
install -m 0644 README.md CHANGELOG.md docs/helper.md "$root/usr/share/doc/lookout/"
install -m 0644 packaging/deb/copyright "$root/usr/share/doc/lookout/copyright"
size_kb="$(du -sk "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: lookout
Version: $version
Architecture: $arch
Maintainer: lookout developers <lookout@example.invalid>
Installed-Size: $size_kb
Depends: adduser, libc6
Section: admin
Priority: optional
Homepage: https://example.invalid/lookout
Description: host telemetry agent
 Host and process metrics from /proc, service discovery, logs, StatsD and OTLP
 intake with secret scrubbing, reliable OTLP delivery and a local analytics store.
CONTROL
echo "/etc/lookout/lookout.yaml" > "$root/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
mkdir -p "$out"
dpkg-deb --root-owner-group -Zgzip -z"$level" --build "$root" "$out/" >/dev/null
echo "$out/lookout_${version}_${arch}.deb"
