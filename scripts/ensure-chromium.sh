#!/usr/bin/env bash
# The HTML report's end-to-end test opens the report in headless Chromium. Install Debian's
# Chromium when no browser is found (CI machines start without one). Set C8DR_CHROMIUM to use
# another binary.
set -euo pipefail
if [ -n "${C8DR_CHROMIUM:-}" ] && [ -x "${C8DR_CHROMIUM}" ]; then exit 0; fi
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$name" >/dev/null 2>&1; then exit 0; fi
done
echo "ensure-chromium: installing Debian's chromium for the HTML report test" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null; then
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null
fi
command -v chromium >/dev/null
