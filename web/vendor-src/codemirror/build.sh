#!/bin/sh
# Rebuild the vendored CodeMirror bundle. Needs Node and npm; the app and its tests never do.
#   cd web/vendor-src/codemirror && ./build.sh
# Versions are pinned in package.json (and package-lock.json); the bundle's file name carries the
# version of @codemirror/view, the core package. Licences are copied beside the bundle.
set -eu
npm ci --no-audit --no-fund
VERSION=$(node -p 'require("./node_modules/@codemirror/view/package.json").version')
OUT=../../static/vendor/codemirror-$VERSION
mkdir -p "$OUT"
npx esbuild entry.js --bundle --format=esm --minify --legal-comments=none \
  --outfile="$OUT/cm-editor-$VERSION.bundle.js"
{
  for pkg in node_modules/@codemirror/* node_modules/@lezer/* node_modules/crelt node_modules/style-mod node_modules/w3c-keyname node_modules/@marijn/*; do
    [ -f "$pkg/LICENSE" ] || continue
    echo "== $(node -p "require('./$pkg/package.json').name + ' ' + require('./$pkg/package.json').version")"
    cat "$pkg/LICENSE"
    echo
  done
} > "$OUT/LICENSES.txt"
echo "built $OUT/cm-editor-$VERSION.bundle.js"
