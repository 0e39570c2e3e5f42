import { main } from "./components/main";

const outputs = main();

export const kubeconfig = outputs.kubeconfig;
export const leader = outputs.leader;
export const workers = outputs.workers;
export const apiEndpoint = outputs.apiEndpoint;
export const controlPlanes = outputs.controlPlanes;
export const etcdVoters = outputs.etcdVoters;
export const faultTolerance = outputs.faultTolerance;
