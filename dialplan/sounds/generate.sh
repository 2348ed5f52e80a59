#!/bin/sh
# Regenerates the masking prompts (8 kHz mono GSM) from prompts.txt ("name|text").
# Needs the Debian packages espeak-ng and sox. Replace the files with recordings of a
# real voice (same names, any format Asterisk reads: .gsm, .wav, .ulaw...) if you like.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while IFS='|' read -r name text; do
    [ -n "$name" ] || continue
    espeak-ng -v "${VOICE:-en-us}" -s 150 -w "$tmp/$name.wav" "$text"
    sox "$tmp/$name.wav" -r 8000 -c 1 "$name.gsm" norm -3
done < prompts.txt
