import { defineConfig } from "vitest/config";

// The unit tier alone: pure decisions, no emulators, no global setup (the IAM contract's call log
// is for the emulator tiers). `npm run test:unit` and the mutation run (stryker.config.mjs) use it.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    // Seconds when the machine is free; the property tests need more on a loaded one (as in vitest.config.ts).
    testTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
