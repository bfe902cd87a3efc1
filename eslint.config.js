import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "coverage/", ".bucket-ledger/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // Lambda code must stay deployable on its own: never pull in the Pulumi engine.
    files: ["functions/**", "tracker/**", "ledger/**", "events/**", "reconcile/**", "api/**"],
    rules: { "no-restricted-imports": ["error", { patterns: ["@pulumi/*"] }] },
  },
);
