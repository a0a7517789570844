#!/usr/bin/env bash
# Checks the built packages: the .deb holds every binary, the unit and the
# configuration, and the packaged irmd accepts the packaged configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls dist/ouroboros_*.deb | head -1)
rpm=$(ls dist/ouroboros-*.rpm | head -1)
[ -s "$rpm" ] || { echo "package-check: no .rpm in dist/" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
for f in usr/sbin/irmd usr/bin/irm usr/bin/oping usr/bin/operf usr/bin/ocbr usr/bin/oecho usr/bin/ocat usr/bin/ovpn \
	etc/ouroboros/irmd.conf etc/ouroboros/ovpn lib/systemd/system/irmd.service lib/systemd/system/ovpn@.service usr/share/doc/ouroboros/guide.md; do
	[ -e "$root/$f" ] || { echo "package-check: $deb lacks /$f" >&2; exit 1; }
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/ouroboros/irmd.conf || { echo "package-check: irmd.conf is not a conffile" >&2; exit 1; }
# --check also checks that the programs the file binds are there: point
# them at the package's, which are where the file says once installed.
sed "s|\"/usr/bin/|\"$root/usr/bin/|g" "$root/etc/ouroboros/irmd.conf" >"$root/irmd.conf.check"
"$root/usr/sbin/irmd" --config "$root/irmd.conf.check" --check
grep -q '^ExecStart=/usr/sbin/irmd ' "$root/lib/systemd/system/irmd.service"
grep -q '^ExecStart=/usr/bin/ovpn up %i --foreground$' "$root/lib/systemd/system/ovpn@.service"
echo "package-check: $deb and $rpm ok"
