#!/bin/sh
# Stop irmd before its files go. On upgrade (deb "upgrade", rpm "1") keep it
# enabled; postinstall of the new version restarts it.
set -e
case "$1" in
upgrade | 1) exit 0 ;;
esac
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now irmd.service || true
fi
exit 0
