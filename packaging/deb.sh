#!/bin/bash
# Builds the Debian package of linkage: deb.sh BINARY OUTDIR  →  OUTDIR/linkage_VERSION_amd64.deb
# `make deb` gives it the release binary; the packaging test gives it the test build's (with
# DEB_COMPRESSION=none: a debug binary is large and the test checks the layout, not the size).
# What goes in: the program, the demo township as a site's starting point, the systemd unit of
# the center's server, its default settings and an empty tokens file (conffiles: an upgrade
# keeps a site's edits), and Depends on exactly the Debian packages the program runs on.
set -euo pipefail
binary=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
arch=$(dpkg --print-architecture)
# The runtime packages, from the Makefile's one list.
depends=$(make -s -C "$root" run-packages | tr -s ' ' '\n' | grep -v '^$' | paste -sd, - | sed 's/,/, /g')

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/linkage
install -D -m 0755 "$binary" "$pkg/usr/bin/linkage"
for f in linkage.toml grids.geojson incident_kinds.toml plans.toml scoring.toml basemap.pmtiles; do
  install -D -m 0644 "$root/assets/demo/$f" "$pkg/usr/share/linkage/township/$f"
done
install -D -m 0644 "$here/debian/linkage-hub.service" "$pkg/lib/systemd/system/linkage-hub.service"
install -D -m 0644 "$here/debian/default" "$pkg/etc/default/linkage"
install -D -m 0640 "$here/debian/tokens.toml" "$pkg/etc/linkage/tokens.toml"
install -D -m 0644 "$root/README.md" "$pkg/usr/share/doc/linkage/README.md"
for d in "$root"/docs/*.md; do install -D -m 0644 "$d" "$pkg/usr/share/doc/linkage/$(basename "$d")"; done
install -D -m 0755 "$here/debian/postinst" "$pkg/DEBIAN/postinst"
printf '/etc/default/linkage\n/etc/linkage/tokens.toml\n' > "$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: linkage
Version: $version
Architecture: $arch
Maintainer: linkage <linkage@localhost>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Description: 联动指挥台 — the command-room console of a governance center
 The duty officer's console (video wall, live incident map, three-in-one
 dispatch, meetings) and the center's server (the hub, its log on SQLite or
 a county's NATS JetStream stream, the dispatch service).
CONTROL
mkdir -p "$out"
dpkg-deb --root-owner-group "-Z${DEB_COMPRESSION:-xz}" --build "$pkg" "$out/linkage_${version}_${arch}.deb" >/dev/null
echo "$out/linkage_${version}_${arch}.deb"
