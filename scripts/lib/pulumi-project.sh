# Sourced by the engine and cluster tiers: a throw-away Pulumi project for one stack.
#
#   pulumi_project WORK STACK
#
# Copies the program into WORK/project (so `pulumi stack init` writes its salt into a copy of
# the stack file, never into the checkout; node_modules is shared by a symlink), keeps the
# state in a file backend under WORK/state with a random passphrase, puts the toolchain's
# pulumi and plugins on PATH, cds into the project, initialises STACK and sets PULUMI=(...).
# No network: plugins come from the local toolchain build.
pulumi_project() {
  local work="$1" stack="$2" repo
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  [ -d "$repo/node_modules/@pulumi/pulumi" ] || { echo "node_modules missing: run npm ci first" >&2; return 2; }
  eval "$(bash "$repo/tools/build-toolchain.sh" --print-env)"
  # Dynamic providers (components/generated-secret.ts) run through the `pulumi-nodejs`
  # provider, which the Pulumi distribution ships as this two-line script.
  mkdir -p "$work/bin" "$work/state" "$work/project"
  cat >"$work/bin/pulumi-resource-pulumi-nodejs" <<'SHIM'
#!/bin/sh
exec node ./node_modules/@pulumi/pulumi/cmd/dynamic-provider "$@"
SHIM
  chmod +x "$work/bin/pulumi-resource-pulumi-nodejs"
  export PATH="$work/bin:$PATH"
  PROJECT="$work/project"
  (cd "$repo" && cp -r Pulumi.yaml "Pulumi.$stack.yaml" index.ts tsconfig.json package.json config components dags "$PROJECT/")
  ln -sfn "$repo/node_modules" "$PROJECT/node_modules"
  cd "$PROJECT"
  export PULUMI_BACKEND_URL="file://$work/state"
  PULUMI_CONFIG_PASSPHRASE="$(head -c 24 /dev/urandom | base64)"
  export PULUMI_CONFIG_PASSPHRASE
  export PULUMI_SKIP_CONFIRMATIONS=true
  # `--event-log` is registered only with the debug commands enabled (CLI 3.248).
  export PULUMI_DEBUG_COMMANDS=true
  PULUMI=(pulumi --non-interactive --color never)
  "${PULUMI[@]}" stack init "$stack" >/dev/null
}
