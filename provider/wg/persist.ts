/**
 * Persisting a running WireGuard interface (shell lines for the fixed scripts that use it;
 * the interface name is the script's `$name`, never text in the script).
 *
 * `wg-quick save` writes the running configuration, keys included, to
 * /etc/wireguard/<if>.conf with mode 0600 — it needs a config file to exist first. The
 * wg-quick unit is enabled only when it is not already: `systemctl enable` costs seconds
 * (it reloads the manager), `is-enabled` a tenth of that. Hosts without systemd (the ns
 * tier) have no unit to enable; the config is still written.
 */
export const PERSIST_LINES: readonly string[] = [
  '[ -f "/etc/wireguard/$name.conf" ] || printf "[Interface]\\n" > "/etc/wireguard/$name.conf"',
  // stdout never: in a hand-over the sender's stdout is the other host's stdin
  'wg-quick save "$name" >/dev/null',
  'systemctl is-enabled --quiet "wg-quick@$name" 2>/dev/null || systemctl enable "wg-quick@$name" >/dev/null 2>&1 || true',
];
