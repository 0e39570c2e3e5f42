import { main } from "./components/main";

// The stack outputs are exactly what main() returns (kubeconfig, apiEndpoint, kubernetesVersion, topology, the flat leader,
// controlPlanes, workers, etcdVoters and faultTolerance, storageFootprint), so the list cannot drift from the program.
// main() is async: it reads this stack's previous outputs first; Pulumi awaits an exported promise.
export = main();
