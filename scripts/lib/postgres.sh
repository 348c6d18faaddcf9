# Starts a throwaway PostgreSQL cluster on 127.0.0.1 and stops it when the calling script
# exits. Sourced by scripts/test.sh; exports PANGEO_FORGE_TEST_POSTGRES_URL.

free_port() {
  local port
  for port in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port between 55432 and 55532" >&2
  return 1
}

start_throwaway_postgres() {
  local bindir port data socket_dir run_as=()
  bindir=$(pg_config --bindir)
  port=$(free_port)
  data=$(mktemp -d /tmp/pangeo_forge_pg.XXXXXX)
  socket_dir=$data/socket
  mkdir -p "$socket_dir"
  # initdb refuses to run as root: run the server as the postgres user then.
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$data"
    run_as=(su postgres -s /bin/sh -c)
  else
    run_as=(sh -c)
  fi
  "${run_as[@]}" "'$bindir/initdb' -D '$data/cluster' -U postgres --auth-local=trust --auth-host=scram-sha-256 --no-sync -E UTF8 >'$data/initdb.log' 2>&1" \
    || { cat "$data/initdb.log"; return 1; }
  "${run_as[@]}" "'$bindir/pg_ctl' -D '$data/cluster' -l '$data/server.log' -w -o \"-p $port -k $socket_dir -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null" \
    || { cat "$data/server.log"; return 1; }
  pangeo_forge_pg_stop="${run_as[*]} \"'$bindir/pg_ctl' -D '$data/cluster' -m immediate stop >/dev/null 2>&1\"; rm -rf '$data'"
  trap 'eval "$pangeo_forge_pg_stop"' EXIT
  psql -q -h "$socket_dir" -p "$port" -U postgres \
    -c "CREATE ROLE forge LOGIN PASSWORD 'forge-pw'" -c "CREATE DATABASE forge OWNER forge" >/dev/null
  export PANGEO_FORGE_TEST_POSTGRES_URL="postgresql://forge:forge-pw@127.0.0.1:$port/forge"
  echo "PostgreSQL $(psql -h "$socket_dir" -p "$port" -U postgres -tAc 'SHOW server_version') on 127.0.0.1:$port"
}
