#!/usr/bin/env bash
# `make run` before the web service: a short demonstration on the home under ./data.
set -euo pipefail
export PATH="$PWD/.venv/bin:$PATH"
export COPYSEAL_HOME="${COPYSEAL_HOME:-data}"
[ -f "$COPYSEAL_HOME/config.json" ] || copyseal init
mkdir -p "$COPYSEAL_HOME/certificates"
copyseal register --text "An old silent pond / a frog jumps in / the sound of water" \
  --title "Demo haiku" --out "$COPYSEAL_HOME/certificates"
cert=$(ls -t "$COPYSEAL_HOME"/certificates/*.cert.json | head -n 1)
copyseal verify "$cert"
copyseal log checkpoint
