#!/bin/sh
# There is no init system in a container: package scripts must not try to start services
# during `docker build` (exit code 101 means "action forbidden" to invoke-rc.d).
exit 101
