# shellcheck shell=bash disable=SC2154 # $dev is set by the script that sources this
# Sourced by deploy/dev/up and deploy/dev/down (needs $dev, the .dev folder): the pid
# files of the development services, and the check that a recorded pid is still the
# server we started (and not a reused pid or someone else's broker).

pidfile() { echo "$dev/$1.pid"; }
logfile() { echo "$dev/$1/$1.log"; }

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# running_pid NAME: prints the recorded pid of NAME if that process is alive, is NAME,
# and runs with the config in our .dev folder; fails otherwise.
running_pid() {
  local name=$1 pid
  pid=$(cat "$(pidfile "$name")" 2>/dev/null) || return 1
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  alive "$pid" || return 1
  # Right after `up` starts it, the pid may still be the run script (bash) for a few
  # milliseconds before it execs the server; accept either.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dev/$name" || return 1
  echo "$pid"
}
