# Helpers sourced by the scripts in this folder.

# Prints a TCP port on 127.0.0.1 that nothing listens on.
pantry_free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(shuf -i 20000-60000 -n 1)
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found on 127.0.0.1" >&2
  return 1
}

# Starts a private redis-server (no persistence, 127.0.0.1 only) on a free
# port with its files in DIR, in its own session so it outlives the script
# unless killed; waits until it answers. Sets REDIS_PORT and REDIS_PID.
pantry_start_redis() {
  local dir=$1
  REDIS_PORT=$(pantry_free_port)
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --daemonize no --loglevel warning >"$dir/redis.log" 2>&1 </dev/null &
  REDIS_PID=$!
  for _ in $(seq 1 200); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "redis-server did not start on port $REDIS_PORT:" >&2
  cat "$dir/redis.log" >&2
  return 1
}

# Prints the CPU seconds (user + system) process PID has used so far.
pantry_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}
