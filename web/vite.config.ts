import { defineConfig } from "vitest/config";

// The build ships inside the Python package (src/tradeloop/api/static/ui), served by
// `tradeloop serve api` under /ui/; users never need Node.js.
export default defineConfig({
  base: "/ui/",
  build: {
    outDir: "../src/tradeloop/api/static/ui",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
