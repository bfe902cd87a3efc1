import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Which folder may import which (Lambda code never reaches @pulumi/*, no circles, the layers'
// direction) is dependency-cruiser's to check: .dependency-cruiser.mjs, run by `npm run lint`.
export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "coverage/", ".bucket-ledger/", ".stryker-tmp/", "reports/"] },
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
);
