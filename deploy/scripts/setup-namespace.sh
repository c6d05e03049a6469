#!/bin/sh
# One-shot (compose service `temporal-namespace`, image temporalio/admin-tools): waits for the
# Temporal frontend, creates the namespace and registers Wingman's custom search attributes as
# Keyword (the names in src/temporal/search-attributes.ts). Idempotent: an existing namespace or attribute
# is kept, so it runs on every `docker compose up`. An attribute that exists with another type
# is an error.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=168h}"
: "${WINGMAN_SEARCH_ATTRIBUTES:=WingmanBatchId WingmanWorkerId WingmanOutcome WingmanProvider}"
: "${SETUP_TRIES:=60}"
: "${SETUP_DELAY:=2}"

# retry DESCRIPTION COMMAND...: runs COMMAND until it succeeds or says "already exists".
retry() {
  what=$1
  shift
  i=1
  while :; do
    if out=$("$@" 2>&1); then
      [ -n "$out" ] && echo "$out"
      return 0
    fi
    case "$out" in
      *"different type"*) echo "$what: $out" >&2; return 1 ;;
      *"already exists"* | *"AlreadyExists"*) echo "$what: already exists"; return 0 ;;
    esac
    if [ "$i" -ge "$SETUP_TRIES" ]; then
      echo "$what: failed after $i tries: $out" >&2
      return 1
    fi
    i=$((i + 1))
    sleep "$SETUP_DELAY"
  done
}

echo "waiting for Temporal at $TEMPORAL_ADDRESS"
retry "cluster health" temporal operator cluster health --address "$TEMPORAL_ADDRESS"

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" \
  >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  retry "namespace $TEMPORAL_NAMESPACE" temporal operator namespace create \
    --namespace "$TEMPORAL_NAMESPACE" --retention "$NAMESPACE_RETENTION" --address "$TEMPORAL_ADDRESS"
fi

# A namespace just created takes a few seconds to reach the frontend's cache: the retries cover it.
for name in $WINGMAN_SEARCH_ATTRIBUTES; do
  retry "search attribute $name" temporal operator search-attribute create \
    --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type Keyword --address "$TEMPORAL_ADDRESS"
done

# Check, rather than trust: every attribute must now be listed.
list=$(temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS")
for name in $WINGMAN_SEARCH_ATTRIBUTES; do
  if ! printf '%s\n' "$list" | grep -qw "$name"; then
    echo "search attribute $name is not listed in namespace $TEMPORAL_NAMESPACE:" >&2
    printf '%s\n' "$list" >&2
    exit 1
  fi
done
echo "namespace $TEMPORAL_NAMESPACE ready with search attributes: $WINGMAN_SEARCH_ATTRIBUTES"
