import * as ipaddr from "ipaddr.js";
import { type Finding, error, warning } from "./findings";
import { isAddress, isIp, unusableAddress } from "./network";
import { isControlPlane } from "./predicates";
import type { ClusterInput, HostInput } from "./schema";
import type { HostSpec } from "./spec";

/** The rules of the hosts list: unique names and addresses of one family, host keys, roles, package settings, package mirrors. */

const HOST_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9@._+:=/-]+)*$/;

/** The hosts as listed (undefined where one failed to parse), the parsed ones, and the address family the first IP host sets. */
export interface HostsContext {
  hosts: readonly (HostInput | undefined)[];
  parsed: readonly HostInput[];
  /** The first host given as an IP: it decides the cluster's address family (kubeadm here is single-stack). */
  firstIpHost?: HostInput;
  family?: "ipv4" | "ipv6";
}

export function hostsContext(hosts: readonly (HostInput | undefined)[]): HostsContext {
  const parsed = hosts.filter((h): h is HostInput => h !== undefined);
  const firstIpHost = parsed.find((h) => isIp(h.address));
  return {
    hosts,
    parsed,
    ...(firstIpHost ? { firstIpHost, family: ipaddr.parse(firstIpHost.address).kind() } : {}),
  };
}

/** `cluster` is undefined when the cluster section failed to parse; `listed` is false when the hosts key is missing or a host failed to parse. */
export function hostRules(
  { hosts, parsed: parsedHosts, firstIpHost, family: hostFamily }: HostsContext,
  cluster: ClusterInput | undefined,
  listed: boolean,
  findings: Finding[],
): void {
  const seenName = new Map<string, number>();
  const seenAddress = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (!h) return;
    const first = seenName.get(h.name);
    if (first !== undefined)
      findings.push(
        error(
          `hosts[${i}].name`,
          `${JSON.stringify(h.name)} is already the name of hosts[${first}]: host names name every resource, so each must be unique`,
        ),
      );
    else seenName.set(h.name, i);
    const unusable = unusableAddress(h.address);
    if (!isAddress(h.address)) {
      findings.push(error(`hosts[${i}].address`, `${JSON.stringify(h.address)} is neither an IP address nor a DNS name`));
    } else if (unusable) {
      findings.push(
        error(
          `hosts[${i}].address`,
          `${h.address} is ${unusable}: the controller cannot reach the host there. Use the host's address on the network`,
        ),
      );
    } else if (hostFamily && isIp(h.address) && ipaddr.parse(h.address).kind() !== hostFamily) {
      findings.push(
        error(
          `hosts[${i}].address`,
          `${h.address} is an ${hostFamily === "ipv6" ? "IPv4" : "IPv6"} address, but ${firstIpHost?.name} has the ${hostFamily === "ipv6" ? "IPv6" : "IPv4"} address ${firstIpHost?.address}: the cluster is single-stack, so give every host an address of one family`,
        ),
      );
    }
    const firstAddr = seenAddress.get(h.address);
    if (firstAddr !== undefined)
      findings.push(
        error(
          `hosts[${i}].address`,
          `${h.address} is already the address of hosts[${firstAddr}] (${hosts[firstAddr]?.name}): two entries for one machine would prepare it twice. Remove the duplicate or correct the address`,
        ),
      );
    else seenAddress.set(h.address, i);

    if (h.hostKey === undefined) {
      if (cluster && !cluster.ssh.insecureIgnoreHostKey) {
        findings.push(
          error(
            `hosts[${i}].hostKey`,
            `is required because host keys are pinned (cluster.ssh.insecureIgnoreHostKey is false). Read it from the host with \`ssh-keyscan -t ed25519 ${h.address}\` and paste "ssh-ed25519 AAAA..."`,
          ),
        );
      }
    } else if (!HOST_KEY.test(h.hostKey.trim())) {
      findings.push(
        error(
          `hosts[${i}].hostKey`,
          'is not an SSH public host key: expected "<type> <base64>" and at most a plain comment (letters, digits, @ . _ - + : = /), e.g. "ssh-ed25519 AAAAC3Nza...", as printed by `ssh-keyscan`',
        ),
      );
    }
    if (new Set(h.roles).size !== h.roles.length) {
      findings.push(warning(`hosts[${i}].roles`, "lists a role twice: each role counts once"));
    }
    // packagesPreinstalled defaults to true on an immutable root or Flatcar; only an explicit false there is wrong.
    if (h.immutableRoot && h.packagesPreinstalled === false && h.os !== "flatcar") {
      findings.push(
        error(
          `hosts[${i}].packagesPreinstalled`,
          "is false, but immutableRoot is true: packages cannot be installed on a read-only root, so node preparation only verifies them. Bake containerd, kubeadm, kubelet and kubectl into the image (e.g. rpm-ostree layering or a sysext) and remove packagesPreinstalled (it defaults to true on an immutable root)",
        ),
      );
    }
    if (h.os === "flatcar" && h.packagesPreinstalled === false) {
      findings.push(
        error(
          `hosts[${i}].packagesPreinstalled`,
          "is false, but os: flatcar has no package manager: bake containerd, kubeadm and kubelet into the image (e.g. a Flatcar sysext) and remove packagesPreinstalled (it defaults to true on flatcar)",
        ),
      );
    }
  });
  if (listed && parsedHosts.length === hosts.length && !parsedHosts.some(isControlPlane)) {
    findings.push(
      error(
        "hosts",
        "has no host with role control-plane: the cluster needs one to run kubeadm init. Add control-plane to the roles of the host that should lead",
      ),
    );
  }
}

/** Where `cluster.packageMirrors` does not reach: hosts that install nothing, dnf hosts for the distribution mirror, RHEL's containerd.io. */
export function packageMirrorFindings(mirrors: { distribution?: string; kubernetes?: string }, hosts: HostSpec[]): Finding[] {
  const out: Finding[] = [];
  const installing = hosts.filter((h) => !h.packagesPreinstalled && !h.immutableRoot && h.os !== "flatcar");
  const names = (hs: HostSpec[]) => hs.map((h) => h.name).join(", ");
  if (installing.length === 0 && hosts.length > 0) {
    out.push(
      warning(
        "cluster.packageMirrors",
        "is set, but no host installs packages (every host has packagesPreinstalled or an immutable root): the mirrors are not used. Remove the key, or set packagesPreinstalled: false where the program should install",
      ),
    );
    return out;
  }
  const dnfHosts = installing.filter((h) => h.os === "fedora" || h.os === "rhel");
  if (mirrors.distribution !== undefined && dnfHosts.length > 0) {
    out.push(
      warning(
        "cluster.packageMirrors.distribution",
        `applies to apt hosts (ubuntu, debian) only; ${names(dnfHosts)} install${dnfHosts.length === 1 ? "s" : ""} with dnf from the repositories in /etc/yum.repos.d: point those at your mirror on the host`,
      ),
    );
  }
  const rhel = installing.filter((h) => h.os === "rhel");
  if (rhel.length > 0) {
    out.push(
      warning(
        "cluster.packageMirrors",
        `RHEL ships no containerd: ${names(rhel)} get containerd.io from Docker's repository (download.docker.com) unless /etc/yum.repos.d/docker-ce.repo already exists. Behind a mirror, put a docker-ce.repo pointing at it there, or preinstall containerd`,
      ),
    );
  }
  return out;
}
