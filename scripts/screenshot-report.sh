#!/usr/bin/env bash
# Renders an ensemble's report page to a PNG with headless Chromium, so a person (or a review)
# can look at it without a browser:
#   bash scripts/screenshot-report.sh ENS OUT.png [WIDTH]
# ENS is an ensemble directory (its ensemble_report.html is drawn first when missing) or an
# HTML file. Installs Debian's chromium package when it is missing (as root or through sudo).
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 ENSEMBLE_DIR|REPORT.html OUT.png [WIDTH]" >&2
  exit 2
fi
SRC="$1" OUT="$2" WIDTH="${3:-1280}"
cd "$(dirname "$0")/.."

if [[ -d "$SRC" ]]; then
  PAGE="$SRC/ensemble_report.html"
  if [[ ! -f "$PAGE" ]]; then
    if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
    BIN="$(swift build -c release --show-bin-path)/flyvis-ensemble"
    [[ -x "$BIN" ]] || { echo "error: $BIN not built; fix: run bash scripts/setup.sh" >&2; exit 1; }
    "$BIN" report "$SRC"
  fi
elif [[ -f "$SRC" ]]; then
  PAGE="$SRC"
else
  echo "error: '$SRC' is neither an ensemble directory nor a report file" >&2
  exit 1
fi

CHROME="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$CHROME" ]]; then
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "error: chromium is missing and there is no root or sudo to install it; fix: apt-get install chromium" >&2
    exit 1
  fi
  echo "screenshot: installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  CHROME="$(command -v chromium)"
fi

PAGE="$(realpath "$PAGE")"
mkdir -p "$(dirname "$OUT")"
OUT="$(realpath -m "$OUT")"
# The page is laid out at WIDTH; measure its height first so the PNG holds the whole page.
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
FLAGS=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$PROFILE"
       --no-first-run --disable-extensions --force-device-scale-factor=1)
HEIGHT="${SCREENSHOT_HEIGHT:-}"
if [[ -z "$HEIGHT" ]]; then
  # Headless Chromium cannot report the page height directly; run a tiny wrapper page that
  # loads the report in an iframe and writes its scroll height into the DOM.
  WRAP="$PROFILE/measure.html"
  cat >"$WRAP" <<HTML
<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="file://$PAGE" style="width:${WIDTH}px;height:500px;border:0"
onload="document.title='H'+this.contentDocument.documentElement.scrollHeight"></iframe></body></html>
HTML
  HEIGHT="$("$CHROME" "${FLAGS[@]}" --allow-file-access-from-files --window-size="$WIDTH,800" \
    --virtual-time-budget=3000 --dump-dom "file://$WRAP" 2>/dev/null | sed -n 's/.*<title>H\([0-9]*\)<\/title>.*/\1/p' | head -1)"
  HEIGHT="${HEIGHT:-3000}"
fi
"$CHROME" "${FLAGS[@]}" --window-size="$WIDTH,$HEIGHT" --virtual-time-budget=2000 \
  --screenshot="$OUT" "file://$PAGE" 2>/dev/null
[[ -s "$OUT" ]] || { echo "error: chromium wrote no screenshot to $OUT" >&2; exit 1; }
echo "screenshot: wrote $OUT (${WIDTH}x${HEIGHT})"
