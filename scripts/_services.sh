# shellcheck shell=bash
# Sourced by scripts/test: make sure what the suite talks to is there. Installs with apt what is
# missing (PostgreSQL with initdb for the fault tests' private servers, Redis, Chromium for the
# browser tests; as root or with passwordless sudo), starts PostgreSQL and Redis on 127.0.0.1 if
# they are down, and lets the postgres role in over loopback without a password.
# BZPEER_TEST_POSTGRES_URL points the tests at another PostgreSQL and skips the PostgreSQL part.

say() { echo "test: $*" >&2; }
die() {
  echo "test: $*" >&2
  exit 1
}

# as_root COMMAND...: run it as root: directly, or through sudo without a password prompt.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "need root or passwordless sudo for: $*"
  fi
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, trying twice a second.
wait_for() {
  local tries=$(($1 * 2))
  shift
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    sleep 0.5
  done
}

# ---- packages -------------------------------------------------------------------------------

# have PROGRAM: an executable PROGRAM on PATH.
have() {
  local path
  path=$(type -P "$1") && [ -x "$path" ]
}

have_initdb() {
  local initdb
  for initdb in "${BZPEER_PG_BINDIR:-/nonexistent}/initdb" /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$initdb" ] && return 0
  done
  have initdb
}

# The fault tests start private servers (initdb, redis-server); the browser tests need Chromium;
# the GraphQL-over-HTTP audit runs on Node (npm's graphql-http).
install_missing() {
  local packages=()
  if ! have_initdb || ! have psql || ! have pg_isready; then packages+=(postgresql); fi
  if ! have redis-server && [ ! -x /usr/bin/redis-server ]; then packages+=(redis-server); fi
  [ -x /usr/bin/chromium ] || packages+=(chromium fonts-liberation)
  if ! have node || ! have npm; then packages+=(nodejs npm); fi
  [ "${#packages[@]}" -gt 0 ] || return 0
  have apt-get || die "missing ${packages[*]}, and no apt-get to install them"
  say "installing ${packages[*]} ..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

# ---- PostgreSQL -----------------------------------------------------------------------------

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

# pg_login: can the postgres role log in over loopback without a password? Never prompts; on
# failure prints psql's error.
pg_login() {
  { env -u PGPASSWORD PGPASSFILE=/dev/null/none \
    psql -X -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc 'select 1' >/dev/null; } 2>&1
}

# pg_cluster: "VERSION NAME" of the Debian cluster configured for port 5432 (nothing if none).
pg_cluster() {
  have pg_lsclusters || return 0
  pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }' || true
}

# hba_trust_loopback < pg_hba.conf > pg_hba.conf.new: the host lines for 127.0.0.1/32 and
# ::1/128 (any database but replication) get the method trust; "host all all ADDRESS trust" is
# added before the first rule for each address that has no such line.
hba_trust_loopback() {
  awk '
    {
      rule = $0
      sub(/#.*/, "", rule)
      n = split(rule, f, " ")
      if (n >= 5 && f[1] ~ /^host(ssl|nossl|gssenc|nogssenc)?$/ && f[2] != "replication" \
          && (f[4] == "127.0.0.1/32" || f[4] == "::1/128")) {
        # Keep the first four fields as written; the method (and its options) become trust.
        match($0, /^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/)
        $0 = substr($0, 1, RLENGTH) "trust"
        if (f[1] == "host" && f[2] == "all" && f[3] == "all") have[f[4]] = 1
      }
      line[NR] = $0
      if (!first && n > 0) first = NR
    }
    function added() {
      if (have["127.0.0.1/32"] && have["::1/128"]) return
      print "# Added by scripts/test: the tests connect as postgres over loopback without a password."
      if (!have["127.0.0.1/32"]) print "host    all             all             127.0.0.1/32            trust"
      if (!have["::1/128"]) print "host    all             all             ::1/128                 trust"
    }
    END {
      for (i = 1; i <= NR; i++) {
        if (i == first) added()
        print line[i]
      }
      if (!first) added()
    }
  '
}

# trust_loopback "VERSION NAME": when postgres needs a password over loopback, trust loopback
# in that cluster's pg_hba.conf and reload it.
trust_loopback() {
  local error hba version name new
  error=$(pg_login) && return 0
  [ -n "$1" ] || die "PostgreSQL at 127.0.0.1:5432 refuses postgres without a password, and no" \
    "Debian cluster (pg_lsclusters) serves that port: trust 127.0.0.1 in its pg_hba.conf" \
    "or set BZPEER_TEST_POSTGRES_URL. psql said: $error"
  read -r version name <<<"$1"
  hba=$(pg_conftool -s "$version" "$name" show hba_file 2>/dev/null) \
    || hba=/etc/postgresql/$version/$name/pg_hba.conf
  say "PostgreSQL wants a password for postgres over loopback: trusting 127.0.0.1, ::1 in $hba"
  new=$(mktemp)
  as_root cat "$hba" | hba_trust_loopback >"$new"
  as_root cp "$new" "$hba" # cp onto the file keeps its owner and mode
  rm -f "$new"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload
  wait_for 10 pg_login >/dev/null || die "PostgreSQL still refuses postgres over loopback" \
    "after editing $hba. psql said: $(pg_login)"
}

ensure_postgres() {
  if [ -n "${BZPEER_TEST_POSTGRES_URL:-}" ]; then
    say "PostgreSQL: using BZPEER_TEST_POSTGRES_URL"
    return 0
  fi
  local cluster version name
  cluster=$(pg_cluster)
  if ! pg_up; then
    [ -n "$cluster" ] || die "no PostgreSQL on 127.0.0.1:5432, and no Debian cluster for port" \
      "5432 to start (pg_lsclusters)"
    read -r version name <<<"$cluster"
    say "starting PostgreSQL $version/$name ..."
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start || true
    wait_for 60 pg_up || die "PostgreSQL did not start" \
      "(log: /var/log/postgresql/postgresql-$version-$name.log)"
  fi
  trust_loopback "$cluster"
}

# ---- Redis ----------------------------------------------------------------------------------

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  redis_up && return 0
  say "starting Redis ..."
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}"
  wait_for 30 redis_up || die "Redis did not start"
}

# The audit's two npm packages, pinned by tests/http_audit/package-lock.json.
ensure_audit() {
  [ -d tests/http_audit/node_modules/graphql-http ] && return 0
  say "installing the graphql-http audit (npm ci) ..."
  npm ci --prefix tests/http_audit --no-audit --no-fund --silent >/dev/null
}

# axe-core for the web front's accessibility check, pinned by tests/web/package-lock.json.
ensure_axe() {
  [ -f tests/web/node_modules/axe-core/axe.min.js ] && return 0
  say "installing axe-core for the browser tests (npm ci) ..."
  npm ci --prefix tests/web --no-audit --no-fund --silent >/dev/null
}

install_missing
ensure_audit
ensure_axe
ensure_postgres
ensure_redis
