/** The stack the replication e2e test and the replication fixture capture both use (prod → dr over WireGuard). */
export const REPLICATION_STACK = `
const prod = new Host(stack, "prod", hostProps(prodInv));
const dr = new Host(stack, "dr", hostProps(drInv));
const tank = prod.pool("tank", { name: "tank", vdevs: [prodInv.disks[0]!], filesystemProperties: { mountpoint: "/tank" } });
const srv = prod.dataset("srv", { name: "tank/srv", dependsOn: [tank] });
const uploads = prod.dataset("uploads", { name: "tank/srv/uploads", profile: "uploads", dependsOn: [srv] });
const postgres = prod.dataset("postgres", { name: "tank/srv/postgres", profile: "postgres", dependsOn: [srv] });
const secret = prod.dataset("secret", { name: "tank/srv/secret", properties: { encryption: "aes-256-gcm", keyformat: "raw", keylocation: "file:///root/bp-secret.key" }, dependsOn: [srv] });
const backup = dr.pool("backup", { name: "backup", vdevs: [drInv.disks[0]!], filesystemProperties: { mountpoint: "/backup" } });
dr.dataset("backup-prod", { name: "backup/prod", properties: { readonly: "on" }, dependsOn: [backup] });
const mesh = new bp.WireGuardMesh(stack, "mesh", { hosts: [prod, dr], cidr: "10.201.0.0/24", listenPort: 51820 });
new bp.Replication(stack, "uploads-dr", { source: uploads, target: dr, targetDataset: "backup/prod/uploads", via: mesh });
new bp.Replication(stack, "postgres-dr", { source: postgres, target: dr, targetDataset: "backup/prod/postgres", via: mesh, retainSource: 2, retainTarget: 3 });
new bp.Replication(stack, "secret-dr", { source: secret, target: dr, targetDataset: "backup/prod/secret", via: mesh, raw: true });
`;

/** Lab hosts ready for the stack: no pools, no wg0, the encryption key on prod. */
export const PREPARE = {
  // and no replication keys or authorisations of earlier stacks (tests pick the key they find)
  both: "ip link del wg0 2>/dev/null; rm -f /etc/wireguard/wg0.*; systemctl disable wg-quick@wg0 2>/dev/null; rm -rf /etc/backplane/replication; sed -i '/ backplane-replication=/d' /root/.ssh/authorized_keys; true",
  prod: "head -c 32 /dev/urandom > /root/bp-secret.key && chmod 600 /root/bp-secret.key",
};
