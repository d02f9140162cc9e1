#!/usr/bin/env bash
# Render a workbook to PDF with LibreOffice and its first pages to PNG, to look at it as an official would.
# Usage: scripts/render_workbook.sh WORKBOOK.xlsx [OUT_DIR] [PAGES]
# Needs libreoffice (Debian: libreoffice-calc) and pdftoppm (poppler-utils); a CJK font (fonts-noto-cjk)
# makes the Chinese text render.
set -euo pipefail

workbook=${1:?usage: scripts/render_workbook.sh WORKBOOK.xlsx [OUT_DIR] [PAGES]}
out_dir=${2:-$(dirname "$workbook")/render}
pages=${3:-6}

for tool in libreoffice pdftoppm; do
  command -v "$tool" >/dev/null || { echo "render_workbook: $tool is not installed" >&2; exit 3; }
done

mkdir -p "$out_dir"
profile=$(mktemp -d)  # a private LibreOffice profile, so a running instance or a stale lock cannot block us
trap 'rm -rf "$profile"' EXIT
libreoffice -env:UserInstallation="file://$profile" --headless --convert-to pdf --outdir "$out_dir" "$workbook" >&2
pdf="$out_dir/$(basename "${workbook%.*}").pdf"
pdftoppm -png -r 60 -f 1 -l "$pages" "$pdf" "$out_dir/page"
echo "$pdf"
ls "$out_dir"/page-*.png
