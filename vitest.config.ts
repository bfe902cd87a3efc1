import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Integration tests spawn DynamoDB Local (Java); forks keep each file's emulators isolated.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    globalSetup: ["test/global-setup.ts"],
    projects: [
      { extends: true, test: { name: "suite", include: ["test/**/*.test.ts"], exclude: ["test/contract/**"], sequence: { groupOrder: 0 } } },
      // Checks what the suite recorded, so it runs after it.
      { extends: true, test: { name: "contract", include: ["test/contract/**/*.test.ts"], sequence: { groupOrder: 1 } } },
    ],
  },
});
