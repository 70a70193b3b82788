#!/bin/sh
# Wrapper installed as `pulumi-language-python` next to the Pulumi CLI that engine/ builds.
#
# Why: the Python language host is built from the last upstream release that shipped it inside the
# github.com/pulumi/pulumi/sdk/v3 module (see engine/README.md). That host learns the project's
# `runtime.options.virtualenv` from command-line flags, while current engines send it over RPC, so the
# host would run the program with the system python3. The engine starts the host in the project
# directory, so we read the option from ./Pulumi.yaml and pass it as the flag the host understands.
here=$(dirname "$0")
venv=""
if [ -f Pulumi.yaml ]; then
    venv=$(sed -n 's/^[[:space:]]*virtualenv:[[:space:]]*//p' Pulumi.yaml | head -n 1 | tr -d "\"'" | tr -d '[:space:]')
fi
if [ -n "$venv" ]; then
    exec "$here/pulumi-language-python-legacy" -root="$PWD" -virtualenv="$venv" "$@"
fi
exec "$here/pulumi-language-python-legacy" "$@"
