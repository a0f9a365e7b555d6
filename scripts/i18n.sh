#!/usr/bin/env bash
# Re-extract the messages (templates, o2o/*.py, static/js/*.js) into translations/messages.pot
# and merge them into the Chinese and English catalogues; then translate the new or fuzzy
# entries in translations/*/LC_MESSAGES/messages.po. The app compiles the .po files itself
# when it starts (and scripts/setup.sh does too); `scripts/i18n.sh compile` does it by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
case "${1:-update}" in
  update)
    # Locations stay in: the app serves the pages' scripts the messages found in .js files.
    "$PYBABEL" extract -F babel.cfg -o translations/messages.pot --project=o2o --version=1.0 \
      --copyright-holder=o2o --msgid-bugs-address=- --sort-by-file .
    "$PYBABEL" update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
    # What is left to translate (empty or fuzzy entries), per language:
    "$PYBABEL" compile -d translations --statistics
    ;;
  compile)
    "$PYBABEL" compile -d translations --statistics
    ;;
  *)
    echo "usage: scripts/i18n.sh [update|compile]" >&2
    exit 2
    ;;
esac
