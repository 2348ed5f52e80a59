#!/bin/sh
# Entry point of the compose stack's Asterisk: writes the secrets from the environment
# next to the configuration (never into the image), then runs Asterisk.
#   MASKING_AMI_SECRET         the service's AMI user        -> manager-secrets.conf
#   MASKING_AMI_RELOAD_SECRET  the `dialplan reload` AMI user -> manager-secrets.conf
#   MASKING_AGI_SECRET         the FastAGI shared secret      -> masking-agi-secret.conf
# A missing value stops the container: no default secret ever goes live.
set -eu
: "${MASKING_AMI_SECRET:?set MASKING_AMI_SECRET}"
: "${MASKING_AMI_RELOAD_SECRET:?set MASKING_AMI_RELOAD_SECRET}"
: "${MASKING_AGI_SECRET:?set MASKING_AGI_SECRET}"
umask 077
# "(+)" adds to the users of manager.conf; the last secret line counts
printf '[masking](+)\nsecret = %s\n\n[masking-reload](+)\nsecret = %s\n' \
    "$MASKING_AMI_SECRET" "$MASKING_AMI_RELOAD_SECRET" > /etc/asterisk/manager-secrets.conf
printf 'MASKING_AGI_SECRET = %s\n' "$MASKING_AGI_SECRET" > /etc/asterisk/masking-agi-secret.conf
chown asterisk:asterisk /etc/asterisk/manager-secrets.conf /etc/asterisk/masking-agi-secret.conf
# the recordings volume is shared with the service, which may have created it first
# (then owned by root): Asterisk writes the recordings
chown asterisk:asterisk /var/spool/asterisk/monitor
exec asterisk -f -U asterisk -G asterisk
