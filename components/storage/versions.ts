import { type Finding, error, warning } from "../config/findings";
import type { ClusterSpec } from "../config/spec";

/**
 * Chart versions this program renders values for, with the Kubernetes minors
 * each supports (from Rook's and Longhorn's release notes).
 */
export const ROOK_SERIES: readonly { series: string; kubernetes: [number, number]; installable: boolean; note?: string }[] = [
  { series: "1.19", kubernetes: [30, 35], installable: true },
  {
    series: "1.20",
    kubernetes: [31, 36],
    installable: false,
    note: "Rook v1.20 moved its CSI drivers to the ceph-csi-operator and needs a third chart, ceph-csi-drivers, which this program does not install yet",
  },
];
export const LONGHORN_SERIES = ["1.10", "1.11", "1.12"] as const;
export const LOCAL_STATIC_SERIES = ["2.8", "2.9"] as const;

function minorOf(version: string): number | undefined {
  const m = /^1\.(\d+)\.\d+$/.exec(version);
  return m ? Number(m[1]) : undefined;
}

/** Version findings for the enabled storage charts: format, known series, and Rook against `kubernetesVersion`. */
export function storageVersionFindings(spec: ClusterSpec): Finding[] {
  const findings: Finding[] = [];
  const k8s = spec.cluster.kubernetesVersion;
  const k8sMinor = minorOf(k8s);
  const s = spec.storage;

  if (s.rookCeph.enabled) {
    const key = "storage.rookCeph.version";
    const v = s.rookCeph.version;
    const m = /^v(\d+\.\d+)\.\d+$/.exec(v);
    const supported = ROOK_SERIES.filter((r) => r.installable)
      .map((r) => `v${r.series}.x (Kubernetes 1.${r.kubernetes[0]}-1.${r.kubernetes[1]})`)
      .join(", ");
    if (!m) {
      const fix = /^\d+\.\d+\.\d+$/.test(v)
        ? `write "v${v}": Rook's chart versions start with v`
        : 'write the chart version, e.g. "v1.19.2"';
      findings.push(error(key, `must look like vX.Y.Z, got ${JSON.stringify(v)}: ${fix}`));
    } else {
      const series = ROOK_SERIES.find((r) => r.series === m[1]);
      if (!series) {
        findings.push(error(key, `${v} is not a Rook release this program renders values for; supported: ${supported}`));
      } else if (k8sMinor !== undefined && (k8sMinor < series.kubernetes[0] || k8sMinor > series.kubernetes[1])) {
        findings.push(
          error(
            key,
            `Rook ${v} supports Kubernetes 1.${series.kubernetes[0]} to 1.${series.kubernetes[1]}, but cluster.kubernetesVersion is ${k8s}: choose a Rook release that supports ${k8s} (${supported}) or another Kubernetes version`,
          ),
        );
      } else if (!series.installable) {
        findings.push(error(key, `${series.note}: use ${supported}`));
      }
    }
  }

  if (s.longhorn.enabled) {
    const v = s.longhorn.version;
    const m = /^(\d+\.\d+)\.\d+$/.exec(v);
    if (!m) {
      const fix = /^v\d+\.\d+\.\d+$/.test(v)
        ? `write "${v.slice(1)}" without the leading v (Longhorn's chart versions have none)`
        : 'write the chart version, e.g. "1.10.1"';
      findings.push(error("storage.longhorn.version", `must be x.y.z, got ${JSON.stringify(v)}: ${fix}`));
    } else if (!(LONGHORN_SERIES as readonly string[]).includes(m[1])) {
      findings.push(
        warning(
          "storage.longhorn.version",
          `${v} is outside the Longhorn releases this program was checked against (${LONGHORN_SERIES.map((x) => `${x}.x`).join(", ")}): its chart values may differ`,
        ),
      );
    }
  }

  if (s.localStatic.enabled) {
    const v = s.localStatic.version;
    const m = /^(\d+\.\d+)\.\d+$/.exec(v);
    if (!m) {
      findings.push(error("storage.localStatic.version", `must be x.y.z, got ${JSON.stringify(v)}: write the chart version, e.g. "2.8.0"`));
    } else if (!(LOCAL_STATIC_SERIES as readonly string[]).includes(m[1])) {
      findings.push(
        warning(
          "storage.localStatic.version",
          `${v} is outside the chart releases this program was checked against (${LOCAL_STATIC_SERIES.map((x) => `${x}.x`).join(", ")}): its chart values may differ`,
        ),
      );
    }
  }
  return findings;
}
