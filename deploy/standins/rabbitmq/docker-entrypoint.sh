#!/bin/sh
# The official image runs its command after its own set-up; nothing to set up here.
exec "$@"
