#!/bin/sh
# The everyday CLI verbs (README, "CLI") on one store: TESSERA_STORE, else ./tessera.db.
# Run from a checkout after `npm run build` with the package's bin on PATH (or `npx tessera`).
set -eu
guests="$(dirname "$0")/../../build/guests"
# The first line of `upload` is the code id.
code=$(tessera upload "$guests/ledger.wasm" | sed -n 1p)
# A second run finds the actor of the first: `tessera actor` tells.
tessera actor bank >/dev/null 2>&1 || tessera create "$code" --id bank --init alice=100,bob=50
tessera send bank "transfer alice bob 30" || echo "transfer refused (see the status above)"
tessera query bank "balance bob"
tessera state bank
