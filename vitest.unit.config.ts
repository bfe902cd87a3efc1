import { defineConfig } from "vitest/config";

// The unit tier alone: pure decisions, no emulators, no global setup (the IAM contract's call log
// is for the emulator tiers). `npm run test:unit` and the mutation run (stryker.config.mjs) use it.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    // Unit tests leave no global state behind (fake timers are restored after each), so the files
    // of a worker share one module graph: 4-6 s instead of 22 s for the tier on this 2-core machine.
    isolate: false,
    // Seconds when the machine is free; the property tests need more on a loaded one (as in vitest.config.ts).
    testTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
