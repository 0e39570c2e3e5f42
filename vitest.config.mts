import { defineConfig } from "vitest/config";

// Two projects: unit tests run in parallel anywhere; lab tests start real test
// hosts (network namespaces, sshd, loop disks) and need root, so they run one
// file at a time and skip with a reason where the machine cannot host them.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/lab/**", "**/node_modules/**"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
