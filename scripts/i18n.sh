#!/bin/sh
# Refresh the translations of the kernel (with the themes) and of each
# first-party plugin: extract every gettext string, merge into each catalog,
# fill English (msgstr = msgid), list what zh_CN still lacks, and compile
# the .mo files.
#
#   scripts/i18n.sh            extract, update, compile
#   scripts/i18n.sh compile    compile only
set -eu
cd "$(dirname "$0")/.."
POT=${POT:-/tmp/messages.pot}

refresh() {  # translations-dir source-dir...
  DIR=$1
  shift
  if [ "${MODE:-}" != "compile" ]; then
    pybabel -q extract -F babel.cfg -k lazy_gettext -k _l -o "$POT" --no-location --sort-output -w 120 \
      --project=Jishi --copyright-holder="Jishi contributors" "$@"
    for locale in zh_CN en; do
      if [ -f "$DIR/$locale/LC_MESSAGES/messages.po" ]; then
        pybabel -q update -i "$POT" -d "$DIR" -l "$locale" --no-fuzzy-matching --ignore-obsolete -w 120
      else
        pybabel -q init -i "$POT" -d "$DIR" -l "$locale"
      fi
    done
    python - "$DIR" <<'PY'
import sys
from babel.messages.pofile import read_po, write_po

path = f"{sys.argv[1]}/en/LC_MESSAGES/messages.po"
with open(path, "rb") as fh:
    cat = read_po(fh, locale="en")
for msg in cat:
    if msg.id and not msg.string:
        msg.string = msg.id
    msg.flags.discard("fuzzy")
with open(path, "wb") as fh:
    write_po(fh, cat, omit_header=False, sort_output=True, no_location=True, width=120)

path = f"{sys.argv[1]}/zh_CN/LC_MESSAGES/messages.po"
with open(path, "rb") as fh:
    cat = read_po(fh, locale="zh_CN")
missing = [m.id for m in cat if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]
for mid in missing:
    print(sys.argv[1], "zh_CN untranslated:", mid if isinstance(mid, str) else mid[0], file=sys.stderr)
PY
  fi
  pybabel -q compile -d "$DIR"
}

MODE=${1:-}
# The kernel with its built-in themes (core/jishi/themes_builtin).
refresh core/jishi/translations core
# Each first-party plugin: plugins/<name>/jishi_<name>/translations.
for pkg in plugins/*/jishi_*; do
  [ -d "$pkg" ] || continue
  mkdir -p "$pkg/translations"
  refresh "$pkg/translations" "$pkg"
done
