import * as kubernetes from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** One pinned Helm release of a chart from its repository: the construction the network and storage layers share. */

/** Where a chart comes from and where its release goes. */
export interface ChartSource {
  release: string;
  chart: string;
  repo: string;
  namespace: string;
}

export interface ReleaseSettings {
  version: string;
  values: Record<string, unknown>;
  /** Seconds helm waits for the release's resources to become ready. */
  timeout: number;
}

/** The release `name` in the stack: the chart at `version` in its own namespace (created when missing). */
export function helmRelease(
  name: string,
  chart: ChartSource,
  { version, values, timeout }: ReleaseSettings,
  opts: pulumi.CustomResourceOptions,
): kubernetes.helm.v3.Release {
  return new kubernetes.helm.v3.Release(
    name,
    {
      name: chart.release,
      chart: chart.chart,
      version,
      repositoryOpts: { repo: chart.repo },
      namespace: chart.namespace,
      createNamespace: true,
      timeout,
      values,
    },
    opts,
  );
}
