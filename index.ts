import { main } from "./components/main";

// The stack outputs are exactly what main() returns (kubeconfig, apiEndpoint, leader, controlPlanes,
// workers, etcdVoters, faultTolerance, storageFootprint), so the list cannot drift from the program.
export = main();
