#!/usr/bin/env bash
# Prints the Debian archive URIs this machine's own apt configuration uses, as
#   main <uri>
#   security <uri>
# Both deb822 (/etc/apt/sources.list.d/*.sources) and one-line sources.list are read.
# Why: the lab must never name a mirror; it uses whatever this machine is set up with.
set -euo pipefail

main_uri="" security_uri=""

consider() { # consider <uri> <suite>
  local uri=$1 suite=$2
  case "$suite" in
    *-security) [ -n "$security_uri" ] || security_uri=$uri ;;
    bookworm|bookworm-updates|bookworm-backports|stable) [ -n "$main_uri" ] || main_uri=$uri ;;
  esac
}

shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
  # deb822 stanzas are separated by blank lines; each has URIs: and Suites:.
  awk 'BEGIN{RS=""; FS="\n"} {
         uris=""; suites=""; types="";
         for (i=1;i<=NF;i++) {
           if ($i ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", $i); uris=$i }
           if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites=$i }
           if ($i ~ /^Types:/)  { sub(/^Types:[ \t]*/, "", $i); types=$i }
         }
         if (types ~ /(^| )deb( |$)/) {
           n=split(uris,u," "); m=split(suites,s," ");
           for (a=1;a<=n;a++) for (b=1;b<=m;b++) print u[a], s[b]
         }
       }' "$f"
done > /tmp/.bp-sources.$$
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  # deb [options] uri suite components...
  sed -E 's/#.*//; s/\[[^]]*\]//' "$f" | awk '$1=="deb" {print $2, $3}'
done >> /tmp/.bp-sources.$$

while read -r uri suite; do consider "$uri" "$suite"; done < /tmp/.bp-sources.$$
rm -f /tmp/.bp-sources.$$

if [ -z "$main_uri" ]; then
  echo "apt-sources: no Debian bookworm source found in this machine's apt configuration" >&2
  exit 1
fi
echo "main $main_uri"
[ -n "$security_uri" ] && echo "security $security_uri"
exit 0
