#!/bin/sh
# Fetches the dashboard's third-party files with npm and copies what the binary embeds
# (server/ui/static/vendor) and what only the browser tests load (server/testdata/vendor)
# into the repository, with their licenses. Run it to upgrade them, then commit the result:
# builds and tests need no network.
set -eu
UPLOT=1.6.32
AXE=4.14.1
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts "uplot@$UPLOT" "axe-core@$AXE" >/dev/null
ui="$root/server/ui/static/vendor/uplot"
mkdir -p "$ui"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE "$ui/"
echo "uPlot $UPLOT (npm package uplot), MIT license: see LICENSE" >"$ui/VERSION"
axe="$root/server/testdata/vendor/axe-core"
mkdir -p "$axe"
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE "$axe/"
echo "axe-core $AXE (npm package axe-core), MPL-2.0: see LICENSE; loaded by the browser tests only" >"$axe/VERSION"
