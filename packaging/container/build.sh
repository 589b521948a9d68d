#!/usr/bin/env bash
# Builds lookout's container image (packaging/container/Containerfile, FROM scratch) from a
# built binary:
#   1. stages the root file system: /usr/bin/lookout, exactly the shared libraries `ldd` lists
#      and the dynamic loader, the CA certificates, /etc/passwd, /etc/group, /etc/nsswitch.conf,
#      /etc/lookout/lookout.yaml, /var/lib/lookout (0700, 65532), /tmp, the /host mount points;
#   2. writes it as <out>/rootfs.tar, reproducibly (sorted, fixed times, numeric owners: root,
#      except the data directory, 65532), beside a copy of the Containerfile;
#   3. builds the image with podman, else buildah (vfs storage, chroot isolation: no daemon,
#      no privileges beyond the build's), else umoci (an OCI layout from rootfs.tar), and
#      saves it as <out>/lookout-image.oci.tar (an OCI archive: `podman load -i`, `skopeo copy
#      oci-archive:...`). With none of them, or with --rootfs-only, it stops after step 2 and
#      prints the command that builds the image from <out>.
#
#   packaging/container/build.sh --binary PATH [--out DIR] [--tag T] [--version V]
#                                [--builder podman|buildah|umoci] [--rootfs-only]
set -euo pipefail
cd "$(dirname "$0")/../.."

binary="" out="dist/container" tag="" version="" rootfs_only=0 builder=
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --rootfs-only) rootfs_only=1; shift ;;
    --builder) builder="$2"; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "--binary must name the built lookout binary" >&2; exit 2; }
[ -n "$version" ] || version="$("$binary" version --json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
[ -n "$tag" ] || tag="localhost/lookout:$version"
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/rootfs"
install -d -m 0755 "$root/usr/bin" "$root/etc/lookout" "$root/etc/ssl/certs" \
  "$root/host" "$root/host/proc" "$root/host/sys" "$root/proc" "$root/sys" "$root/dev" \
  "$root/home/nonroot"
install -d -m 0700 "$root/var/lib/lookout"
install -d -m 1777 "$root/tmp"
install -m 0755 "$binary" "$root/usr/bin/lookout"

# exactly what the dynamic linker resolves: `name => /path (addr)` and the loader `/path (addr)`
libs="$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)"
if ldd "$binary" | grep -q "not found"; then
  echo "ldd cannot resolve every library of $binary:" >&2
  ldd "$binary" >&2
  exit 1
fi
for lib in $libs; do
  install -d -m 0755 "$root$(dirname "$lib")"
  # the file itself under the name the binary asks for (cp -L: no dangling symlinks)
  cp -L "$lib" "$root$lib"
  chmod 0755 "$root$lib"
done

ca=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca" ] || { echo "no CA bundle at $ca (install ca-certificates)" >&2; exit 1; }
install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
for f in passwd group nsswitch.conf; do
  install -m 0644 "packaging/container/etc/$f" "$root/etc/$f"
done
install -m 0644 packaging/container/etc/lookout.yaml "$root/etc/lookout/lookout.yaml"
install -d -m 0755 "$root/usr/share/doc/lookout"
install -m 0644 README.md docs/container.md "$root/usr/share/doc/lookout/"

mkdir -p "$out"
# numeric owners from a table (GNU tar can only set one owner for all), fixed times, sorted
python3 - "$root" "$out/rootfs.tar" "$epoch" <<'PY'
import os, sys, tarfile
root, dest, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
owned = {"var/lib/lookout": 65532, "home/nonroot": 65532}
entries = []
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        entries.append(os.path.relpath(os.path.join(d, n), root))
with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as t:
    for rel in sorted(entries):
        info = t.gettarinfo(os.path.join(root, rel), arcname=rel)
        info.uid = info.gid = owned.get(rel, 0)
        info.uname = info.gname = ""
        info.mtime = epoch
        if info.isreg():
            with open(os.path.join(root, rel), "rb") as f:
                t.addfile(info, f)
        else:
            t.addfile(info)
PY
cp packaging/container/Containerfile "$out/Containerfile"

if [ -z "$builder" ]; then
  for b in podman buildah umoci; do
    if command -v "$b" >/dev/null; then builder="$b"; break; fi
  done
fi
[ "$rootfs_only" = 0 ] || builder=""
case "$builder" in
  ""|podman|buildah|umoci) ;;
  *) echo "--builder must be podman, buildah or umoci" >&2; exit 2 ;;
esac
if [ -n "$builder" ] && ! command -v "$builder" >/dev/null; then
  echo "$builder is not installed" >&2; exit 2
fi

build_args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created")
image="$out/lookout-image.oci.tar"
rm -f "$image"
if [ "$builder" = podman ]; then
  podman --storage-driver vfs build --isolation chroot --format oci "${build_args[@]}" \
    -f "$out/Containerfile" -t "$tag" "$out" >&2
  podman --storage-driver vfs save --format oci-archive -o "$image" "$tag" >&2
  echo "$image"
elif [ "$builder" = buildah ]; then
  buildah --storage-driver vfs bud --isolation chroot --format oci "${build_args[@]}" \
    -f "$out/Containerfile" -t "$tag" "$out" >&2
  buildah --storage-driver vfs push "$tag" "oci-archive:$image:$tag" >&2
  echo "$image"
elif [ "$builder" = umoci ]; then
  # the same image without a builder: one layer (rootfs.tar) and the Containerfile's settings
  layout="$stage/oci"
  ref="${tag##*:}"
  umoci init --layout "$layout"
  umoci new --image "$layout:$ref"
  umoci raw add-layer --image "$layout:$ref" "$out/rootfs.tar"
  umoci config --image "$layout:$ref" --config.user 65532:65532 \
    --config.workingdir /var/lib/lookout --config.exposedports 13133/tcp \
    --config.entrypoint=/usr/bin/lookout --config.entrypoint=run \
    --config.entrypoint=--config --config.entrypoint=/etc/lookout/lookout.yaml \
    --config.entrypoint=--data-dir --config.entrypoint=/var/lib/lookout \
    --clear=config.cmd \
    --config.label "org.opencontainers.image.title=lookout" \
    --config.label "org.opencontainers.image.version=$version" \
    --config.label "org.opencontainers.image.revision=$revision" \
    --config.label "org.opencontainers.image.created=$created" \
    --config.label "org.opencontainers.image.licenses=Apache-2.0"
  tar -C "$layout" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -cf "$image" .
  echo "$image"
else
  [ "$rootfs_only" = 1 ] || echo "neither podman, buildah nor umoci is installed: stopping at the root file system" >&2
  echo "build the image from $out with: podman build -f $out/Containerfile -t $tag $out" >&2
  echo "  (or docker build -f $out/Containerfile -t $tag $out)" >&2
  echo "$out/rootfs.tar"
fi
