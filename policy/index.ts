import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

// Constructing the pack starts the analyzer's gRPC server and never returns:
// only `pulumi preview --policy-pack policy` loads this file; tests import ./policies.
new PolicyPack("baremetal-k8s", { policies });
